namespace Alex.Tests.Shared;

/// <summary>
/// DNS datagrams no mDNS reader may accept, with the reason it must give (RFC 1035 §4.1): truncations, impossible counts,
/// compression pointers that loop or point forward, undefined label types, lengths past the end, bad record data. The
/// codec tests check each reason; the end-to-end tests throw them all at a running responder.
/// </summary>
public static class HostileDnsPackets
{
    public static readonly (string Hex, string Reason)[] All =
    [
        ("", "shorter than the 12-byte header"),
        ("00000000000100", "shorter than the 12-byte header"),
        ("000000000001000000000000", "cannot fit"),
        ("0000000000ff000000000000" + "00000100010000", "cannot fit"),
        ("000000000001000000000000" + "c00c00010001", "does not point before"),
        ("000000000001000000000000" + "c00d00010001", "does not point before"),
        ("000000000001000000000000" + "0161c00c0001", "does not point before"),
        ("000000000001000000000000" + "4000000100", "label type 0x40"),
        ("000000000001000000000000" + "8000000100", "label type 0x80"),
        ("000000000001000000000000" + "0a61620001", "label runs past"),
        ("000000000001000000000000" + "02611b0000010001", "control character"),
        ("000000000001000000000000" + "01ff0000010001", "not UTF-8"),
        ("000000000001000000000000" + "0000010001" + "00", "1 bytes after the last record"),
        ("000000000000000100000000" + "00" + "0001" + "0001" + "00000078" + "0005" + "0a00000200", "A data of 5 bytes"),
        ("000000000000000100000000" + "00" + "001c" + "0001" + "00000078" + "0004" + "0a000002", "Aaaa data of 4 bytes"),
        ("000000000000000100000000" + "00" + "0001" + "0001" + "00000078" + "0010" + "0a000002", "runs past the end"),
        ("000000000000000100000000" + "00" + "0010" + "0001" + "00000078" + "0003" + "05616263", "TXT string of 5 bytes"),
        ("000000000000000100000000" + "00" + "0021" + "0001" + "00000078" + "0003" + "000000", "SRV data of 3 bytes"),
        ("000000000000000100000000" + "00" + "0021" + "0001" + "00000078" + "0008" + "000000001388" + "0161", "runs past"),
        ("000000000000000100000000" + "00" + "000c" + "0001" + "00000078" + "0002" + "0000", "PTR name does not end"),
        ("000000000000000100000000" + "00" + "000c" + "0001" + "00000078" + "0001" + "c0", "pointer runs past"),
        ("000000000000000100000000" + "00" + "000c" + "0001" + "00000078" + "0002" + "c01c", "does not point before"),
    ];
}
