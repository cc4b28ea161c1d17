using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Alex.Pki;

/// <summary>
/// Reads attributes out of an X.500 name (RFC 5280 §4.1.2.4: SEQUENCE OF SET OF {type, value}),
/// including multi-valued RDNs, so that a subject with two CNs is seen as such.
/// </summary>
internal static class DistinguishedNames
{
    public static IReadOnlyList<string> CommonNames(X500DistinguishedName name)
    {
        var result = new List<string>();
        var rdns = new AsnReader(name.RawData, AsnEncodingRules.BER).ReadSequence();
        while (rdns.HasData)
        {
            var set = rdns.ReadSetOf(skipSortOrderValidation: true);
            while (set.HasData)
            {
                var attribute = set.ReadSequence();
                var type = attribute.ReadObjectIdentifier();
                if (type == Oids.CommonName)
                {
                    result.Add(ReadDirectoryString(attribute));
                }
                else
                {
                    attribute.ReadEncodedValue();
                }
            }
        }

        return result;
    }

    /// <summary>DirectoryString: UTF8String, PrintableString, IA5String, BMPString, TeletexString, UniversalString.</summary>
    private static string ReadDirectoryString(AsnReader reader)
    {
        var tag = reader.PeekTag();
        if (tag.TagClass != TagClass.Universal)
        {
            throw new AsnContentException("a name attribute is not a string");
        }

        return (UniversalTagNumber)tag.TagValue switch
        {
            UniversalTagNumber.UTF8String or UniversalTagNumber.PrintableString or UniversalTagNumber.IA5String
                or UniversalTagNumber.BMPString or UniversalTagNumber.UniversalString or UniversalTagNumber.VisibleString
                or UniversalTagNumber.NumericString or UniversalTagNumber.T61String =>
                reader.ReadCharacterString((UniversalTagNumber)tag.TagValue),
            _ => throw new AsnContentException("a name attribute is not a string"),
        };
    }
}
