// The CLI's JSON, generated at compile time (System.Text.Json source generation): no reflection at run
// time, so the same code runs in the NativeAOT build (docs/BENCHMARKS.md, "Shipped build"), and a type
// missing here is a build error there instead of a crash in `--json`.
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Alex.Cli.Drive;
using Alex.Lab;
using Alex.Pki.Diagnostics;

namespace Alex.Cli;

/// <summary>`alex lab … --json`: the result records, big numbers as decimal strings, enums by name.</summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    Converters = [typeof(BigIntegerAsStringConverter)])]
[JsonSerializable(typeof(SubstitutionResult))]
[JsonSerializable(typeof(RsaResult))]
[JsonSerializable(typeof(RsaKeyGenerationResult))]
[JsonSerializable(typeof(DiffieHellmanResult))]
[JsonSerializable(typeof(AvalancheResult))]
[JsonSerializable(typeof(CertificateWalkResult))]
[JsonSerializable(typeof(HandshakeResult))]
[JsonSerializable(typeof(List<FactorResult>))]
[JsonSerializable(typeof(List<CertificateWalkResult>))]
internal sealed partial class LabJson : JsonSerializerContext;

/// <summary>`alex doctor --json`: the report, levels in camelCase, absent fixes left out.</summary>
[JsonSourceGenerationOptions(
    WriteIndented = true,
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    Converters = [typeof(FindingLevelConverter)])]
[JsonSerializable(typeof(DoctorReport))]
internal sealed partial class DoctorJson : JsonSerializerContext;

/// <summary>~/.config/alexlink/drive.json.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(DriveSettings))]
internal sealed partial class DriveSettingsJson : JsonSerializerContext;

/// <summary>What `alex doctor --json` prints.</summary>
internal sealed record DoctorReport(bool Ok, int Problems, int Warnings, IReadOnlyList<DoctorSection> Sections);

/// <summary>Big numbers as decimal strings: exact in every JSON reader (a double would round them).</summary>
internal sealed class BigIntegerAsStringConverter : JsonConverter<BigInteger>
{
    public override BigInteger Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        BigInteger.Parse(reader.GetString() ?? "0", System.Globalization.CultureInfo.InvariantCulture);

    public override void Write(Utf8JsonWriter writer, BigInteger value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString(System.Globalization.CultureInfo.InvariantCulture));
}

/// <summary>"ok", "warning", "problem".</summary>
internal sealed class FindingLevelConverter() : JsonStringEnumConverter<FindingLevel>(JsonNamingPolicy.CamelCase);
