using System.Buffers;
using System.Buffers.Binary;
using System.Text.RegularExpressions;
using Alex.Protocol.AlexLink;
using Alex.Protocol.Serial;
using Alex.Tests.Shared;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace Alex.Protocol.Tests.AlexLink;

/// <summary>AlexLink/1 as docs/protocol.md specifies it: the examples there are the golden bytes.</summary>
public sealed partial class AlexLinkCodecTests
{
    private const long ServerTime = 1764245227000;

    /// <summary>The messages of docs/protocol.md §7, by example name.</summary>
    private static readonly Dictionary<string, AlexLinkMessage> Examples = new()
    {
        ["welcome"] = new AlexLinkWelcome(AlexLinkRole.Driver, 1500, 500, 100, 300, 360, 200, 4096, ServerTime, 0, "laptop.epp.com", "alex.epp.com", ""),
        ["refusal"] = new AlexLinkRefusal(AlexLinkRefusalCode.NotAllowed, "laptop-3 is not on the allow-list"),
        ["command_f"] = new AlexLinkCommand(CommandCode.Forward, 50, 75) { RequestId = 1 },
        ["ok"] = new AlexLinkOk { RequestId = 1 },
        ["command_g"] = new AlexLinkCommand(DriveCommand.GetStats) { RequestId = 2 },
        ["status"] = new AlexLinkStatus(ServerTime + 1250, new StatusCounters(477, 477, 286, 286, 114, 228, 228, 114, 49, 29)) { RequestId = 2 },
        ["error"] = new AlexLinkError(AlexLinkErrorCode.NotDriver, 0, "not the driver: laptop-2 holds the lease since 12:01:07") { RequestId = 3 },
        ["arduino_error"] = new AlexLinkError(AlexLinkErrorCode.ArduinoError, (ushort)ResponseCode.BadCommand, "the Arduino answered BAD_COMMAND") { RequestId = 4 },
        ["heartbeat"] = new AlexLinkHeartbeat(123456789) { RequestId = 5 },
        ["subscribe"] = new AlexLinkSubscribe(AlexLinkTopics.All, 500) { RequestId = 6 },
        ["stop"] = new AlexLinkStop { RequestId = 7 },
        ["take"] = new AlexLinkTakeLease { RequestId = 8 },
        ["release"] = new AlexLinkReleaseLease { RequestId = 9 },
        ["lease"] = new AlexLinkLeaseState(AlexLinkLeaseChange.Taken, ServerTime, "laptop.epp.com", "laptop.epp.com took the lease"),
        ["link"] = new AlexLinkLinkState(AlexLinkLinkStatus.Down, "/dev/ttyACM0 vanished; retrying every 2 s"),
        ["text"] = new AlexLinkArduinoText("Hello from Alex"),
        ["safety"] = new AlexLinkSafetyStop(AlexLinkStopReason.HeartbeatMissed, ServerTime + 2750, "laptop.epp.com", "laptop.epp.com sent nothing for 1500 ms while Alex may be moving: stopped"),
        ["unknown"] = new AlexLinkUnknown(0x3F, [1, 2]) { RequestId = 10 },
        ["get_status"] = new AlexLinkGetServerStatus { RequestId = 11 },
        ["server_status"] = ServerStatusExample,
        ["follow_audit"] = new AlexLinkFollowAudit(20, Follow: true) { RequestId = 12 },
        ["command_colour"] = new AlexLinkCommand(new DriveCommand((CommandCode)7)) { RequestId = 13 },
        ["declared_reply"] = new AlexLinkDeclaredReply(7, PacketType.Response, 6, ServerTime + 500, [310, 120, 95], "") { RequestId = 13 },
        ["scan"] = new AlexLinkScan(42, ServerTime + 3000, 0, 1, [new(0, 400), new(16384, 1250), new(32768, 0)]),
        ["map_tiles"] = new AlexLinkMapTiles(5, ServerTime + 3500, 1234, -560, 16384, 50, [new MapTile(0, -1, Enumerable.Range(0, MapTile.CellCount).Select(i => i switch { >= 1000 and < 1003 => (sbyte)-13, 1003 => (sbyte)27, _ => (sbyte)0 }).ToArray())]),
        ["audit_line"] = new AlexLinkAuditLine("{\"time\":\"2025-11-27T12:07:09.000Z\",\"event\":\"connection-accepted\",\"name\":\"tutor\"}"),
    };

    /// <summary>docs/protocol.md §7 server_status: an hour up, laptop driving for a minute, an admin asking.</summary>
    private static AlexLinkServerStatus ServerStatusExample => new()
    {
        RequestId = 11,
        ServerTimeUnixMs = ServerTime,
        StartedUnixMs = ServerTime - 3_600_000,
        Link = AlexLinkLinkStatus.Up,
        SessionCount = 2,
        LeaseSinceUnixMs = ServerTime - 60_000,
        CertificateNotAfterUnixMs = 1795781227000,
        CrlThisUpdateUnixMs = ServerTime - 86_400_000,
        CrlNextUpdateUnixMs = ServerTime + (6 * 86_400_000L),
        AuditFreeBytes = 1L << 30,
        AuditSizeBytes = 52431,
        Version = "1.0.0",
        ServerName = "alex.epp.com",
        LinkDetail = "/dev/ttyACM0",
        LeaseHolder = "laptop.epp.com",
        CrlNumber = "3",
        AuditPath = "/var/lib/alexlink/audit.jsonl",
        Sessions =
        [
            new(AlexLinkRole.Driver, AlexLinkSessionProtocol.AlexLink1, ServerTime - 60_000, "laptop.epp.com", "192.168.1.20:50112"),
            new(AlexLinkRole.Admin, AlexLinkSessionProtocol.AlexLink1, ServerTime, "admin.epp.com", "192.168.1.21:50200"),
        ],
        Counters = [new("replies timed out", 0), new("link lost", 1)],
    };

    [Fact]
    public void ServerStatus_MoreSessionsThanAFrameHolds_ListsWhatFitsAndCountsAll()
    {
        var many = Enumerable.Range(0, 200)
            .Select(i => new AlexLinkSessionInfo(AlexLinkRole.Watcher, AlexLinkSessionProtocol.AlexLink1, ServerTime, $"student-{i}.epp.com", $"192.168.1.{i}:50000"))
            .ToArray();
        var status = (ServerStatusExample with { Sessions = many, SessionCount = 200 }).FitTo();
        var bytes = AlexLinkWriter.Encode(status);
        Assert.True(bytes.Length - AlexLinkFrame.HeaderSize <= AlexLinkFrame.MaxPayload, $"{bytes.Length} bytes");
        Assert.InRange(status.Sessions.Count, 50, 199);
        Assert.Equal(many.Take(status.Sessions.Count), status.Sessions);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(OperationStatus.Done, AlexLinkReader.TryRead(ref buffer, out var read, out _));
        Assert.Equal(200, Assert.IsType<AlexLinkServerStatus>(read).SessionCount);
    }

    [Fact]
    public void AuditLine_LongerThanAStringField_TravelsWholeUpToTheFrame()
    {
        var json = "{\"event\":\"connection-refused\",\"reason\":\"" + new string('x', 3000) + "\"}";
        var buffer = new ReadOnlySequence<byte>(AlexLinkWriter.Encode(new AlexLinkAuditLine(json)));
        Assert.Equal(OperationStatus.Done, AlexLinkReader.TryRead(ref buffer, out var read, out _));
        Assert.Equal(json, Assert.IsType<AlexLinkAuditLine>(read).Json);

        var huge = new AlexLinkAuditLine(new string('y', 10_000));
        Assert.Equal(AlexLinkFrame.HeaderSize + AlexLinkFrame.MaxPayload, AlexLinkWriter.Encode(huge).Length);
    }

    [Fact]
    public void ServerStatus_CutShort_IsBadFrame()
    {
        var bytes = Convert.FromHexString(SpecExamples()["server_status"]);
        var payload = bytes.Length - AlexLinkFrame.HeaderSize;
        for (var keep = 0; keep < payload; keep++)
        {
            var cut = bytes[..(AlexLinkFrame.HeaderSize + keep)];
            BinaryPrimitives.WriteUInt16LittleEndian(cut, (ushort)keep);
            var buffer = new ReadOnlySequence<byte>(cut);
            Assert.Equal(OperationStatus.InvalidData, AlexLinkReader.TryRead(ref buffer, out _, out var error));
            Assert.Equal(AlexLinkErrorCode.BadFrame, error.Code);
        }
    }

    public static TheoryData<string> ExampleNames => [.. Examples.Keys];

    [Fact]
    public void Spec_EveryExampleInDocs_IsTested()
    {
        Assert.Equal(Examples.Keys.Order(), SpecExamples().Keys.Order());
    }

    [Theory]
    [MemberData(nameof(ExampleNames))]
    public void Encode_SpecExample_MatchesGoldenBytes(string name)
    {
        Assert.Equal(SpecExamples()[name], Convert.ToHexString(AlexLinkWriter.Encode(Examples[name])).ToLowerInvariant());
    }

    [Theory]
    [MemberData(nameof(ExampleNames))]
    public void TryRead_SpecExample_DecodesToTheMessage(string name)
    {
        var buffer = new ReadOnlySequence<byte>(Convert.FromHexString(SpecExamples()[name]));
        Assert.Equal(OperationStatus.Done, AlexLinkReader.TryRead(ref buffer, out var message, out _));
        Assert.True(buffer.IsEmpty);
        Assert.Equal(Examples[name], message);
    }

    [Theory]
    [MemberData(nameof(ExampleNames))]
    public void TryRead_SpecExampleSplitAtEveryOffset_WaitsThenDecodes(string name)
    {
        var bytes = Convert.FromHexString(SpecExamples()[name]);
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var head = new ReadOnlySequence<byte>(bytes, 0, cut);
            Assert.Equal(OperationStatus.NeedMoreData, AlexLinkReader.TryRead(ref head, out _, out _));
            Assert.Equal(cut, head.Length);

            var split = Segmented.Of(bytes, [cut, (cut + bytes.Length) / 2]);
            Assert.Equal(OperationStatus.Done, AlexLinkReader.TryRead(ref split, out var message, out _));
            Assert.True(split.IsEmpty);
            Assert.Equal(Examples[name], message);
        }
    }

    [Fact]
    public void TryRead_AllExamplesBackToBack_YieldsEachInOrder()
    {
        var all = Examples.Values.SelectMany(AlexLinkWriter.Encode).ToArray();
        for (var cut = 0; cut < all.Length; cut += 5)
        {
            var buffer = Segmented.Of(all, [cut, cut + 3]);
            var got = new List<AlexLinkMessage>();
            while (AlexLinkReader.TryRead(ref buffer, out var m, out _) == OperationStatus.Done)
            {
                got.Add(m!);
            }

            Assert.True(buffer.IsEmpty);
            Assert.Equal(Examples.Values, got);
        }
    }

    [Fact]
    public void TryRead_DeclaredLengthOverMax_RefusedFromTheHeaderAlone()
    {
        // Only the 8 header bytes have arrived: the reader must not wait for 5000 more.
        var header = new byte[AlexLinkFrame.HeaderSize];
        BinaryPrimitives.WriteUInt16LittleEndian(header, 5000);
        header[AlexLinkFrame.TypeOffset] = (byte)AlexLinkMessageType.Command;
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(AlexLinkFrame.RequestIdOffset), 9);
        var buffer = new ReadOnlySequence<byte>(header);
        Assert.Equal(OperationStatus.InvalidData, AlexLinkReader.TryRead(ref buffer, out var message, out var error));
        Assert.Null(message);
        Assert.Equal(AlexLinkErrorCode.FrameTooLarge, error.Code);
        Assert.True(error.IsFatal);
        Assert.Equal(9u, error.RequestId);
        Assert.Equal("frame of 5000 bytes is over the limit of 4096", error.Text);
        Assert.Equal(AlexLinkFrame.HeaderSize, buffer.Length);
    }

    [Fact]
    public void TryRead_SmallerMaximum_AppliesToo()
    {
        var bytes = AlexLinkWriter.Encode(Examples["welcome"]);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(OperationStatus.InvalidData, AlexLinkReader.TryRead(ref buffer, out _, out var error, maxPayload: 64));
        Assert.Equal(AlexLinkErrorCode.FrameTooLarge, error.Code);
    }

    [Theory]
    [InlineData("welcome")]
    [InlineData("command_f")]
    [InlineData("status")]
    [InlineData("error")]
    [InlineData("safety")]
    [InlineData("heartbeat")]
    [InlineData("subscribe")]
    public void TryRead_PayloadTruncatedButFramed_IsBadFrameAndSkipped(string name)
    {
        // A frame whose length field is honest but whose payload is one byte short for its type.
        var good = Convert.FromHexString(SpecExamples()[name]);
        var shorter = good[..^1];
        BinaryPrimitives.WriteUInt16LittleEndian(shorter, (ushort)(shorter.Length - AlexLinkFrame.HeaderSize));
        var next = AlexLinkWriter.Encode(new AlexLinkOk { RequestId = 77 });
        var buffer = new ReadOnlySequence<byte>([.. shorter, .. next]);

        Assert.Equal(OperationStatus.InvalidData, AlexLinkReader.TryRead(ref buffer, out var message, out var error));
        Assert.Null(message);
        Assert.Equal(AlexLinkErrorCode.BadFrame, error.Code);
        Assert.False(error.IsFatal);
        Assert.Equal(good[AlexLinkFrame.TypeOffset], error.Type);
        Assert.Equal(OperationStatus.Done, AlexLinkReader.TryRead(ref buffer, out var after, out _));
        Assert.Equal(new AlexLinkOk { RequestId = 77 }, after);
    }

    [Fact]
    public void TryRead_LongerPayloadFromLaterMinor_ReadsKnownFieldsIgnoresRest()
    {
        var bytes = AlexLinkWriter.Encode(Examples["command_f"]).Concat(new byte[] { 0xAA, 0xBB }).ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)(bytes.Length - AlexLinkFrame.HeaderSize));
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(OperationStatus.Done, AlexLinkReader.TryRead(ref buffer, out var message, out _));
        Assert.Equal(Examples["command_f"], message);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void TryRead_StringCountBeyondPayload_IsBadFrame()
    {
        var bytes = Convert.FromHexString(SpecExamples()["text"]);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(AlexLinkFrame.HeaderSize), 200);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(OperationStatus.InvalidData, AlexLinkReader.TryRead(ref buffer, out _, out var error));
        Assert.Equal(AlexLinkErrorCode.BadFrame, error.Code);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void Write_TextOverLimit_IsCutAtCharacterBoundary()
    {
        var text = new string('é', 700); // 1400 bytes of UTF-8
        var bytes = AlexLinkWriter.Encode(new AlexLinkArduinoText(text));
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(OperationStatus.Done, AlexLinkReader.TryRead(ref buffer, out var message, out _));
        Assert.Equal(new string('é', 512), Assert.IsType<AlexLinkArduinoText>(message).Text);
    }

    [Fact]
    public void Write_ToBufferWriter_AppendsFrames()
    {
        var writer = new ArrayBufferWriter<byte>();
        AlexLinkWriter.Write(writer, Examples["ok"]);
        AlexLinkWriter.Write(writer, Examples["stop"]);
        Assert.Equal(SpecExamples()["ok"] + SpecExamples()["stop"], Convert.ToHexString(writer.WrittenSpan).ToLowerInvariant());
    }

    [Property(MaxTest = 300)]
    public Property RoundTrip_AnyMessage_ReadsBackEqual() =>
        Prop.ForAll(ArbitraryMessage(), message =>
        {
            var buffer = new ReadOnlySequence<byte>(AlexLinkWriter.Encode(message));
            return AlexLinkReader.TryRead(ref buffer, out var back, out _) == OperationStatus.Done && buffer.IsEmpty && message.Equals(back);
        });

    [Property(MaxTest = 500)]
    public Property TryRead_Garbage_NeverThrowsAndAlwaysProgressesOrStops(byte[] junk) =>
        Prop.ToProperty(Survives(junk ?? []));

    private static bool Survives(byte[] junk)
    {
        var buffer = new ReadOnlySequence<byte>(junk);
        while (true)
        {
            var before = buffer.Length;
            var status = AlexLinkReader.TryRead(ref buffer, out var message, out var error, maxPayload: 512);
            switch (status)
            {
                case OperationStatus.Done when message is not null && buffer.Length < before:
                    continue;
                case OperationStatus.InvalidData when error.Code == AlexLinkErrorCode.BadFrame && buffer.Length < before:
                    continue;
                case OperationStatus.InvalidData when error.IsFatal:
                    return buffer.Length == before;
                case OperationStatus.NeedMoreData:
                    return buffer.Length == before;
                default:
                    return false;
            }
        }
    }

    private static Arbitrary<AlexLinkMessage> ArbitraryMessage()
    {
        var text = ArbMap.Default.GeneratorFor<string>().Select(s => s ?? "").Select(s => s.Length > 300 ? s[..300] : s)
            .Select(s => new string(s.Where(c => !char.IsSurrogate(c)).ToArray()));
        var u32 = ArbMap.Default.GeneratorFor<uint>();
        var i64 = ArbMap.Default.GeneratorFor<long>();
        var u16 = ArbMap.Default.GeneratorFor<ushort>();
        var b = ArbMap.Default.GeneratorFor<byte>();
        var messages = Gen.OneOf(
            Map(u32, u32, text, (a, c, s) => (AlexLinkMessage)new AlexLinkWelcome(AlexLinkRole.Watcher, a, c, a % 101, c, a, c, 4096, a, c, s, s + "x", s)),
            Map(u16, text, (c, s) => (AlexLinkMessage)new AlexLinkRefusal((AlexLinkRefusalCode)c, s)),
            Gen.Constant((AlexLinkMessage)new AlexLinkOk()),
            Map(u16, u16, text, (c, d, s) => (AlexLinkMessage)new AlexLinkError((AlexLinkErrorCode)c, d, s)),
            Map(i64, u32.ArrayOf(16), (t, p) => (AlexLinkMessage)new AlexLinkStatus(t, p)),
            Map(b, i64, text, (c, t, s) => (AlexLinkMessage)new AlexLinkLeaseState((AlexLinkLeaseChange)c, t, s, s + s)),
            Map(b, text, (c, s) => (AlexLinkMessage)new AlexLinkLinkState((AlexLinkLinkStatus)c, s)),
            text.Select(s => (AlexLinkMessage)new AlexLinkArduinoText(s)),
            Map(b, i64, text, (c, t, s) => (AlexLinkMessage)new AlexLinkSafetyStop((AlexLinkStopReason)c, t, s, s)),
            Map(b, u32, u32, (c, p0, p1) => (AlexLinkMessage)new AlexLinkCommand((CommandCode)c, p0, p1)),
            Gen.Constant((AlexLinkMessage)new AlexLinkStop()),
            i64.Select(v => (AlexLinkMessage)new AlexLinkHeartbeat(v)),
            Map(u32, u32, (t, i) => (AlexLinkMessage)new AlexLinkSubscribe((AlexLinkTopics)t, i)),
            Gen.Constant((AlexLinkMessage)new AlexLinkTakeLease()),
            Gen.Constant((AlexLinkMessage)new AlexLinkReleaseLease()),
            Gen.Constant((AlexLinkMessage)new AlexLinkGetServerStatus()),
            Map(u16, b, (n, f) => (AlexLinkMessage)new AlexLinkFollowAudit(n, (f & 1) != 0)),
            text.Select(s => (AlexLinkMessage)new AlexLinkAuditLine(s)),
            Map(i64, text, (t, s) => (AlexLinkMessage)(ServerStatusExample with
            {
                ServerTimeUnixMs = t,
                LinkDetail = s,
                Sessions = [new(AlexLinkRole.Admin, AlexLinkSessionProtocol.Classic, t, s, s + ":1")],
                Counters = [new(s, t)],
            })),
            Map(Gen.Choose(0x40, 0xFF), b.ArrayOf(), (t, p) => (AlexLinkMessage)new AlexLinkUnknown((byte)t, p)));
        return Map(messages, u32, (m, id) => m with { RequestId = id }).ToArbitrary();
    }

    private static Gen<R> Map<A, B, R>(Gen<A> a, Gen<B> b, Func<A, B, R> f) => Gen.Zip(a, b).Select(t => f(t.Item1, t.Item2));

    private static Gen<R> Map<A, B, C, R>(Gen<A> a, Gen<B> b, Gen<C> c, Func<A, B, C, R> f) => Gen.Zip(a, Gen.Zip(b, c)).Select(t => f(t.Item1, t.Item2.Item1, t.Item2.Item2));

    /// <summary>The examples block of docs/protocol.md §7, name → hex.</summary>
    private static Dictionary<string, string> SpecExamples()
    {
        var doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "protocol.md"));
        var block = doc[doc.IndexOf("## 7.", StringComparison.Ordinal)..];
        return ExampleLine().Matches(block).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Alex.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root (Alex.slnx) not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^([a-z_]+) +([0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex ExampleLine();
}
