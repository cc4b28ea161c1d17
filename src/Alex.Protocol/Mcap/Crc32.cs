// CRC-32 as MCAP uses it (docs/recording.md "The file"): the IEEE 802.3 / zlib polynomial, reflected
// (0xEDB88320), initial value and final XOR 0xFFFFFFFF. Check value: "123456789" -> 0xCBF43926.
namespace Alex.Protocol.Mcap;

/// <summary>A running CRC-32 (zlib's): <see cref="Append"/> any number of times, then read <see cref="Value"/>.</summary>
public struct Crc32
{
    private static readonly uint[] Table = BuildTable();
    private uint _state;
    private bool _started;

    /// <summary>The CRC of everything appended so far.</summary>
    public readonly uint Value => (_started ? _state : 0xFFFFFFFFu) ^ 0xFFFFFFFFu;

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = default(Crc32);
        crc.Append(data);
        return crc.Value;
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        if (!_started)
        {
            _state = 0xFFFFFFFFu;
            _started = true;
        }

        var state = _state;
        foreach (var b in data)
        {
            state = Table[(state ^ b) & 0xFF] ^ (state >> 8);
        }

        _state = state;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
