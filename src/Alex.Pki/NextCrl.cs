using System.Numerics;

namespace Alex.Pki;

/// <summary>What the CA's next CRL says: its number and every revocation it lists.</summary>
/// <param name="Number">The new CRL number, greater than every number published or recorded before.</param>
/// <param name="Revoked">Every revocation the ledger records, plus any the published CRL lists that the ledger lost.</param>
/// <param name="Carried">The revocations taken from the published CRL because the ledger lacks them (a ledger restored from an old backup).</param>
public sealed record CrlContents(long Number, IReadOnlyList<RevokedCertificate> Revoked, IReadOnlyList<RevokedCertificate> Carried);

/// <summary>
/// The rule for the next CRL, with no I/O. Revocation must be monotonic (RFC 5280 §5.2.3: CRL numbers
/// only increase; docs/security.md "Revocation"): the next CRL's number is above both the ledger's last
/// number and the number of the CRL now published, and it lists every revocation either of them knows.
/// A ledger that went back in time (restored from a backup) can therefore never make a weaker CRL.
/// </summary>
public static class NextCrl
{
    /// <summary>Decides the next CRL from the ledger and the CRL now published (its number and entries; 0 and none when there is none).</summary>
    public static CrlContents Decide(LedgerDocument ledger, BigInteger publishedNumber, IReadOnlyList<RevokedCertificate> publishedRevoked)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(publishedRevoked);
        var last = BigInteger.Max(ledger.LastCrlNumber, publishedNumber);
        if (last >= long.MaxValue)
        {
            throw new PkiException($"the CRL number {last} cannot grow any further", hint: "make a new CA with alex pki init --force and issue every certificate again");
        }

        var revoked = new List<RevokedCertificate>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in ledger.Certificates.Where(c => c.IsRevoked))
        {
            var serial = CertificateRevocationList.NormalizeSerial(entry.Serial);
            if (seen.Add(serial))
            {
                revoked.Add(new RevokedCertificate(serial, entry.RevokedAt!.Value, entry.RevocationReason));
            }
        }

        var carried = new List<RevokedCertificate>();
        foreach (var entry in publishedRevoked)
        {
            var serial = CertificateRevocationList.NormalizeSerial(entry.SerialHex);
            if (seen.Add(serial))
            {
                var kept = entry with { SerialHex = serial };
                revoked.Add(kept);
                carried.Add(kept);
            }
        }

        return new CrlContents((long)last + 1, revoked, carried);
    }

    /// <summary>
    /// The ledger after publishing <paramref name="contents"/>: the new last number, and the carried
    /// revocations written back (on the entry of that serial, or on a new entry for a serial the ledger
    /// never knew), so `alex pki list` and the next CRL show them.
    /// </summary>
    public static LedgerDocument Record(LedgerDocument ledger, CrlContents contents)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(contents);
        var certificates = new List<LedgerEntry>(ledger.Certificates);
        foreach (var carried in contents.Carried)
        {
            var index = certificates.FindIndex(c => CertificateRevocationList.NormalizeSerial(c.Serial) == carried.SerialHex);
            if (index >= 0)
            {
                certificates[index] = certificates[index] with { RevokedAt = carried.RevocationDate, RevocationReason = carried.Reason };
            }
            else
            {
                certificates.Add(CertificateLedger.UnknownRevoked(carried));
            }
        }

        return ledger with { LastCrlNumber = contents.Number, Certificates = certificates };
    }
}
