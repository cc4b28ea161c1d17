using System.Text.Json;

namespace Alex.Tests.Shared;

/// <summary>One recorded byte sequence from ../shared/vectors/alex_vectors.json (copied to tests/vectors).</summary>
public sealed record GoldenVector(int Index, string Description, string Direction, string Channel, byte[] Bytes, byte[]? Canonical, JsonElement Raw)
{
    /// <summary>What our encoder must produce: the canonical bytes (garbage zeroed) when recorded, else the bytes.</summary>
    public byte[] Expected => Canonical ?? Bytes;

    public string? ExpectedResult => Raw.TryGetProperty("expected_result", out var r) ? r.GetString() : null;

    public override string ToString() => $"#{Index} {Description}";
}

public static class GoldenVectors
{
    private static readonly Lazy<IReadOnlyList<GoldenVector>> All = new(Load);

    public static IReadOnlyList<GoldenVector> Items => All.Value;

    public static IEnumerable<GoldenVector> Serial => Items.Where(v => v.Channel == "serial");

    public static IEnumerable<GoldenVector> TlsPlaintext => Items.Where(v => v.Channel == "tls-plaintext");

    /// <summary>Indexes of vectors matching a predicate, for [MemberData].</summary>
    public static TheoryData<int> Indexes(Func<GoldenVector, bool> where)
    {
        var data = new TheoryData<int>();
        foreach (var v in Items.Where(where))
        {
            data.Add(v.Index);
        }

        return data;
    }

    private static IReadOnlyList<GoldenVector> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "vectors", "alex_vectors.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var list = new List<GoldenVector>();
        var i = 0;
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            list.Add(new GoldenVector(
                i++,
                e.GetProperty("description").GetString()!,
                e.GetProperty("direction").GetString()!,
                e.GetProperty("channel").GetString()!,
                Convert.FromHexString(e.GetProperty("hex").GetString()!),
                e.TryGetProperty("canonical_hex", out var c) ? Convert.FromHexString(c.GetString()!) : null,
                e.Clone()));
        }

        return list;
    }
}
