using System.Diagnostics;
using System.Net;
using System.Text;
using Alex.Protocol.Discovery;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Alex.Tests.Shared;

namespace Alex.Protocol.Tests.Discovery;

/// <summary>The DNS message codec against bytes built by hand from RFC 1035 §4.1 and RFC 6762, hostile input, and dnspython.</summary>
public sealed class DnsMessageTests
{
    /// <summary>A browse query: `_alexlink._tcp.local PTR`, QU bit set (RFC 6762 §5.4).</summary>
    public const string BrowseQueryHex =
        "0000" + "0000" + "0001" + "0000" + "0000" + "0000" + // ID 0, flags 0, one question
        "09" + "5f616c65786c696e6b" + "04" + "5f746370" + "05" + "6c6f63616c" + "00" + // _alexlink._tcp.local
        "000c" + "8001"; // PTR, IN with the QU bit

    /// <summary>
    /// The reply to a browse: PTR answer; SRV, TXT and A as additional records (RFC 6763 §12.1), cache-flush bits on the
    /// unique records, every repeated name compressed. Offsets: service name at 12 (_tcp.local at 22, local at 27),
    /// instance at 44, pi.local at 77.
    /// </summary>
    public const string BrowseReplyHex =
        "0000" + "8400" + "0000" + "0001" + "0000" + "0003" + // QR AA, one answer, three additional
        "095f616c65786c696e6b045f746370056c6f63616c00" + "000c" + "0001" + "00001194" + "000f" + // @12 PTR 4500 s
        "0c616c65782e6570702e636f6d" + "c00c" + // @44 "alex.epp.com" + -> @12
        "c02c" + "0021" + "8001" + "00000078" + "000b" + "0000" + "0000" + "1388" + "027069" + "c01b" + // SRV 0 0 5000 pi(@77) + -> local@27
        "c02c" + "0010" + "8001" + "00001194" + "0022" + // TXT, 34 bytes
        "03" + "763d31" + "11" + "6e616d653d616c65782e6570702e636f6d" + "05" + "66703d4141" + "05" + "63613d4242" +
        "c04d" + "0001" + "8001" + "00000078" + "0004" + "0a000002"; // A pi.local 10.0.0.2

    public static RobotAdvert Advert { get; } = new("alex.epp.com", "pi", 5000, "AA", "BB");

    public static IPAddress[] Addresses { get; } = [IPAddress.Parse("10.0.0.2")];

    [Fact]
    public void Write_BrowseQuery_GoldenBytes()
    {
        var bytes = DnsMessageWriter.Write(DnsMessage.Query(RobotBrowse.BrowseQuestion(unicastResponse: true)));
        Assert.Equal(BrowseQueryHex, Convert.ToHexString(bytes), ignoreCase: true);
    }

    [Fact]
    public void Read_BrowseQuery_OneQuestionWithTheQuBit()
    {
        Assert.True(DnsMessageReader.TryRead(Convert.FromHexString(BrowseQueryHex), out var m, out var error), error);
        var q = Assert.Single(m.Questions);
        Assert.Equal(RobotAdvert.ServiceName, q.Name);
        Assert.Equal(DnsType.Ptr, q.Type);
        Assert.True(q.UnicastResponse);
        Assert.Equal(DnsWire.ClassInternet, q.Class);
        Assert.False(m.IsResponse);
    }

    [Fact]
    public void Write_BrowseReply_GoldenBytesWithCompression()
    {
        var reply = new MdnsResponder(Advert).Answer(DnsMessage.Query(RobotBrowse.BrowseQuestion(false)), new MdnsQuerySource(5353, OnLink: true), Addresses);
        Assert.NotNull(reply);
        Assert.False(reply.Unicast);
        Assert.Equal(BrowseReplyHex, Convert.ToHexString(DnsMessageWriter.Write(reply.Message)), ignoreCase: true);
    }

    [Fact]
    public void Read_BrowseReply_EveryRecordDecoded()
    {
        Assert.True(DnsMessageReader.TryRead(Convert.FromHexString(BrowseReplyHex), out var m, out var error), error);
        Assert.True(m.IsResponse);
        var ptr = Assert.Single(m.Answers);
        Assert.Equal(new DnsPointerData(Advert.InstanceName), ptr.Data);
        Assert.Equal("alex.epp.com", ((DnsPointerData)ptr.Data).Target.Labels[0]);
        Assert.False(ptr.CacheFlush);
        Assert.Equal(4500u, ptr.Ttl);
        Assert.Equal(3, m.Additionals.Count);
        Assert.Equal(new DnsServiceData(0, 0, 5000, DnsName.Parse("pi.local")), m.Additionals[0].Data);
        Assert.True(m.Additionals[0].CacheFlush);
        Assert.Equal(["v=1", "name=alex.epp.com", "fp=AA", "ca=BB"], ((DnsTextData)m.Additionals[1].Data).Strings.Select(Encoding.UTF8.GetString));
        Assert.Equal(new DnsAddressData(IPAddress.Parse("10.0.0.2")), m.Additionals[2].Data);
        Assert.Equal(DnsName.Parse("pi.local"), m.Additionals[2].Name);
    }

    /// <summary>RFC 1035 §4.1.4's example, as questions: F.ISI.ARPA at 12, FOO.F.ISI.ARPA at 28 pointing to it, ARPA pointing into it.</summary>
    [Fact]
    public void Read_Rfc1035CompressionExample_NamesFollowPointers()
    {
        var bytes = new byte[68];
        bytes[5] = 3; // three questions: F.ISI.ARPA, FOO.F.ISI.ARPA, ARPA
        Convert.FromHexString("0146" + "03495349" + "0441525041" + "00" + "00010001").CopyTo(bytes, 12); // @12 F.ISI.ARPA; A IN
        Convert.FromHexString("03464f4f" + "c00c" + "00010001").CopyTo(bytes, 28); // @28 FOO + -> @12
        Convert.FromHexString("c012" + "00010001").CopyTo(bytes, 38); // -> ARPA @18
        Assert.True(DnsMessageReader.TryRead(bytes.AsSpan(0, 44), out var m, out var error), error);
        Assert.Equal(["F.ISI.ARPA", "FOO.F.ISI.ARPA", "ARPA"], m.Questions.Select(q => q.Name.ToString()));
    }

    public static TheoryData<string, string> Hostile()
    {
        var data = new TheoryData<string, string>();
        foreach (var (hex, reason) in HostileDnsPackets.All)
        {
            data.Add(hex, reason);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void Read_HostilePacket_RefusedWithAReason(string hex, string reason)
    {
        Assert.False(DnsMessageReader.TryRead(Convert.FromHexString(hex), out var m, out var error));
        Assert.Null(m);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_OverTheMdnsLimit_Refused()
    {
        Assert.False(DnsMessageReader.TryRead(new byte[DnsWire.MaxMessageSize + 1], out _, out var error));
        Assert.Contains("over the mDNS limit", error, StringComparison.Ordinal);
    }

    /// <summary>130 one-byte labels, each ending in a pointer to the one before (all inside a record's data): a name of 261 bytes, refused.</summary>
    [Fact]
    public void Read_NameLongerThan255ThroughPointers_Refused()
    {
        const int ChainAt = 12 + 11; // header, then a record with the root name whose data holds the chain
        var chain = new List<byte>();
        var previous = -1;
        for (var i = 0; i < 130; i++)
        {
            var at = ChainAt + chain.Count;
            chain.AddRange([1, (byte)'a']);
            chain.AddRange(previous < 0 ? [0] : [(byte)(0xC0 | (previous >> 8)), (byte)previous]);
            previous = at;
        }

        var bytes = new List<byte>(Convert.FromHexString("000000000000000200000000"));
        bytes.AddRange(Convert.FromHexString("00" + "0063" + "0001" + "00000078"));
        bytes.AddRange([(byte)(chain.Count >> 8), (byte)chain.Count]);
        bytes.AddRange(chain);
        bytes.AddRange([(byte)(0xC0 | (previous >> 8)), (byte)previous]); // the second record's name: the chain's last element
        bytes.AddRange(Convert.FromHexString("0001" + "0001" + "00000078" + "0004" + "0a000002"));
        Assert.False(DnsMessageReader.TryRead(bytes.ToArray(), out _, out var error));
        Assert.Contains("answer 2: name is longer than 255", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_EveryTruncationOfTheReply_RefusedCleanly()
    {
        var bytes = Convert.FromHexString(BrowseReplyHex);
        for (var n = 0; n < bytes.Length; n++)
        {
            Assert.False(DnsMessageReader.TryRead(bytes.AsSpan(0, n), out _, out var error), $"{n} bytes read as a message");
            Assert.False(string.IsNullOrEmpty(error));
        }
    }

    [Fact]
    public void Read_EverySingleByteChangeOfTheReply_NeverThrows()
    {
        var bytes = Convert.FromHexString(BrowseReplyHex);
        for (var i = 0; i < bytes.Length; i++)
        {
            foreach (var value in new byte[] { 0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0xC0, 0xFF })
            {
                var changed = (byte[])bytes.Clone();
                changed[i] = value;
                _ = DnsMessageReader.TryRead(changed, out _, out _);
            }
        }
    }

    [Property(MaxTest = 500)]
    public Property Read_AnyBytes_NeverThrows(byte[] junk) =>
        Prop.ToProperty(DnsMessageReader.TryRead(junk ?? [], out var m, out var e) ? m is not null : e is not null);

    [Property(MaxTest = 300)]
    public Property RoundTrip_AnyAdvert_ReadsBackTheSameRecords() =>
        Prop.ForAll(Adverts(), advert =>
        {
            var sent = new MdnsResponder(advert).Announcement([IPAddress.Parse("192.168.1.50"), IPAddress.Parse("fe80::1")]);
            return DnsMessageReader.TryRead(DnsMessageWriter.Write(sent), out var back, out _)
                && back.Answers.Count == sent.Answers.Count
                && back.Answers.Zip(sent.Answers).All(p => p.First.SameRecordAs(p.Second) && p.First.Ttl == p.Second.Ttl && p.First.CacheFlush == p.Second.CacheFlush);
        });

    [Fact]
    public void Write_LabelOver63Bytes_Throws()
    {
        var query = DnsMessage.Query(new DnsQuestion(new DnsName([new string('a', 64), "local"]), DnsType.A));
        Assert.Throws<ArgumentException>(() => DnsMessageWriter.Write(query));
    }

    /// <summary>dnspython (Debian's python3-dnspython), an independent implementation, reads our bytes and writes bytes we read.</summary>
    [Fact]
    public async Task Dnspython_ReadsOurReplyAndWritesWhatWeRead()
    {
        const string Script = """
            import sys, binascii, dns.message, dns.rrset
            m = dns.message.from_wire(binascii.unhexlify(sys.argv[1]))
            print(m.to_text())
            r = dns.message.Message(id=0)
            r.flags = 0x8400
            r.answer.append(dns.rrset.from_text('_alexlink._tcp.local.', 4500, 'IN', 'PTR', 'Robot\\ 7._alexlink._tcp.local.'))
            r.additional.append(dns.rrset.from_text('Robot\\ 7._alexlink._tcp.local.', 120, 'IN', 'SRV', '0 0 5001 robot7.local.'))
            r.additional.append(dns.rrset.from_text('Robot\\ 7._alexlink._tcp.local.', 4500, 'IN', 'TXT', '"v=1" "fp=CC"'))
            r.additional.append(dns.rrset.from_text('robot7.local.', 120, 'IN', 'AAAA', 'fe80::7'))
            print('WIRE ' + binascii.hexlify(r.to_wire()).decode())
            """;
        var python = "/usr/bin/python3";
        Assert.True(File.Exists(python), "needs Debian's python3 and python3-dnspython (apt-get install python3-dnspython)");
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Script);
        start.ArgumentList.Add(BrowseReplyHex);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, "dnspython failed (apt-get install python3-dnspython): " + await stderr);
        var text = await stdout;
        Assert.Contains(@"_alexlink._tcp.local. 4500 IN PTR alex\.epp\.com._alexlink._tcp.local.", text, StringComparison.Ordinal);
        Assert.Contains(@"alex\.epp\.com._alexlink._tcp.local. 4500 CLASS32769 TXT ""v=1"" ""name=alex.epp.com"" ""fp=AA"" ""ca=BB""", text, StringComparison.Ordinal);

        var wire = text.Split('\n').Single(l => l.StartsWith("WIRE ", StringComparison.Ordinal))[5..].Trim();
        Assert.True(DnsMessageReader.TryRead(Convert.FromHexString(wire), out var theirs, out var error), error);
        var browse = new RobotBrowse();
        Assert.True(browse.Apply(theirs, DateTimeOffset.UnixEpoch));
        var robot = Assert.Single(browse.Robots(DateTimeOffset.UnixEpoch));
        Assert.Equal(("Robot 7", "robot7.local", 5001, "CC"), (robot.Instance, robot.HostName, robot.Port, robot.Fingerprint));
        Assert.Equal([IPAddress.Parse("fe80::7")], robot.Addresses);
    }

    private static Arbitrary<RobotAdvert> Adverts() =>
        (from name in Gen.Elements("alex.epp.com", "Team 7 robot", "é-robot", "r", new string('x', 63))
         from port in Gen.Choose(1, 65535)
         from host in Gen.Elements("pi", "raspberrypi", "alex-7")
         select new RobotAdvert(name, host, port, "AB:CD", "EF:01")).ToArbitrary();
}
