using System.Net;
using System.Text;

namespace Alex.Pki;

/// <summary>
/// The default file names for a certificate's NAME: STEM.key, STEM.crt, STEM.csr. STEM is the NAME's
/// first label (before the first dot), lower-case, with anything but letters, digits, '_' and '-'
/// turned into '-'; an IP address is kept whole. So the course's own names give the course's files
/// (alex.epp.com → alex.*, laptop.epp.com or laptop → laptop.*), and every other name its own files
/// (mallory → mallory.*, laptop2 → laptop2.*, "Alex Laptop" → alex-laptop.*), so issuing for one
/// device never touches another device's key. `--out` chooses another stem.
/// </summary>
public static class FileStem
{
    public static string ForName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var trimmed = name.Trim();
        var isIp = IPAddress.TryParse(trimmed, out _);
        var label = isIp ? trimmed : trimmed.Split('.')[0];
        var stem = new StringBuilder(label.Length);
        foreach (var c in label.ToLowerInvariant())
        {
            var keep = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '-' || (isIp && c == '.');
            var next = keep ? c : '-';
            if (next != '-' || (stem.Length > 0 && stem[^1] != '-'))
            {
                stem.Append(next);
            }
        }

        var result = stem.ToString().Trim('-');
        return result.Length == 0 ? "device" : result;
    }
}
