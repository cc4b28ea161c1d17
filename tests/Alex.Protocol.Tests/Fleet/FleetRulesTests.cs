using System.Text;
using Alex.Protocol.Fleet;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Protocol.Tests.Fleet;

public sealed class FleetScheduleTests
{
    private static readonly FleetStatus Idle = new() { Version = "1.0", Arduino = true, Moving = false, Drivers = 0, Watchers = 0, Admins = 0 };

    private static (FakeTimeProvider Time, FleetSchedule Schedule) Make()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 6, 0, 0, TimeSpan.Zero));
        return (time, new FleetSchedule(time, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(2)));
    }

    [Fact]
    public void Decide_FirstStatus_PublishedAtOnce()
    {
        var (_, schedule) = Make();
        var decision = schedule.Decide(Idle);
        Assert.True(decision.Publish);
        Assert.Equal("first", decision.Why);
    }

    [Fact]
    public void Decide_SameStateAgain_NothingUntilTheHeartbeat()
    {
        var (time, schedule) = Make();
        schedule.Decide(Idle with { At = time.GetUtcNow() });
        time.Advance(TimeSpan.FromSeconds(29));
        var quiet = schedule.Decide(Idle with { At = time.GetUtcNow() });
        Assert.False(quiet.Publish);
        Assert.Equal(time.GetUtcNow() + TimeSpan.FromSeconds(1), quiet.NextCheckAt);
        time.Advance(TimeSpan.FromSeconds(1));
        var beat = schedule.Decide(Idle with { At = time.GetUtcNow() });
        Assert.True(beat.Publish);
        Assert.Equal("heartbeat", beat.Why);
    }

    [Theory]
    [InlineData("arduino")]
    [InlineData("lease")]
    [InlineData("moving")]
    [InlineData("sessions")]
    [InlineData("crl")]
    public void Decide_AChangeThatMatters_PublishedAtOnce(string what)
    {
        var (time, schedule) = Make();
        schedule.Decide(Idle);
        time.Advance(TimeSpan.FromMilliseconds(10));
        var changed = what switch
        {
            "arduino" => Idle with { Arduino = false, ArduinoDetail = "no such port" },
            "lease" => Idle with { Lease = "laptop" },
            "moving" => Idle with { Moving = true },
            "sessions" => Idle with { Watchers = 1 },
            _ => Idle with { CrlNextUpdate = time.GetUtcNow() },
        };
        var decision = schedule.Decide(changed);
        Assert.True(decision.Publish);
        Assert.Equal("changed", decision.Why);
    }

    [Fact]
    public void Decide_OdometryAlone_AtMostEveryInterval()
    {
        var (time, schedule) = Make();
        var at = time.GetUtcNow();
        schedule.Decide(Idle with { Odometry = new FleetOdometry(0, 0, at) });
        time.Advance(TimeSpan.FromSeconds(1));
        var soon = schedule.Decide(Idle with { Odometry = new FleetOdometry(10, 0, time.GetUtcNow()) });
        Assert.False(soon.Publish);
        Assert.Equal(at + TimeSpan.FromSeconds(2), soon.NextCheckAt);
        time.Advance(TimeSpan.FromSeconds(1));
        var later = schedule.Decide(Idle with { Odometry = new FleetOdometry(20, 0, time.GetUtcNow()) });
        Assert.True(later.Publish);
        Assert.Equal("odometry", later.Why);
    }

    [Fact]
    public void Decide_AfterReconnecting_PublishedAtOnceEvenUnchanged()
    {
        var (time, schedule) = Make();
        schedule.Decide(Idle);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(schedule.Decide(Idle).Publish);
        schedule.Reconnected();
        Assert.True(schedule.Decide(Idle).Publish);
    }
}

public sealed class FleetStatusTests
{
    [Fact]
    public void Json_RoundTrip_AndTheLastWillIsJustOffline()
    {
        var at = new DateTimeOffset(2026, 12, 2, 6, 0, 0, TimeSpan.Zero);
        var status = new FleetStatus { Version = "1.2", Arduino = true, Lease = "laptop", Drivers = 1, Watchers = 2, Admins = 0, Moving = true, Odometry = new FleetOdometry(120, 5, at), CertificateNotAfter = at.AddDays(300), CrlNextUpdate = at.AddDays(80), At = at };
        Assert.True(FleetStatus.TryParse(status.ToJson(), out var back));
        Assert.Equal(status, back);
        Assert.Equal("{\"state\":\"offline\"}", Encoding.UTF8.GetString(FleetStatus.OfflineWill.ToJson()));
        Assert.Contains("\"lease\":\"laptop\"", Encoding.UTF8.GetString(status.ToJson()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("{\"drivers\":\"many\"}")]
    public void TryParse_NotAStatus_False(string text)
    {
        Assert.False(FleetStatus.TryParse(Encoding.UTF8.GetBytes(text), out var status));
        Assert.Null(status);
    }

    [Fact]
    public void TryParse_Oversized_False() =>
        Assert.False(FleetStatus.TryParse(Encoding.UTF8.GetBytes("{\"version\":\"" + new string('x', FleetStatus.MaxBytes) + "\"}"), out _));

    [Fact]
    public void FleetStop_AnyPayloadIsAStop_WordsMadePrintable()
    {
        Assert.Equal("STOP from the fleet (alexlink/fleet/stop)", FleetStop.Read("garbage"u8).Describe("alexlink/fleet/stop"));
        var stop = FleetStop.Read(Encoding.UTF8.GetBytes("{\"by\":\"teacher\",\"reason\":\"end\\u001b[2J of lab\"}"));
        Assert.Equal("STOP from the fleet (alexlink/fleet/stop, by teacher): end[2J of lab", stop.Describe("alexlink/fleet/stop"));
    }

    [Theory]
    [InlineData("mqtts://broker.lab:8883", "broker.lab", 8883)]
    [InlineData("mqtts://broker.lab", "broker.lab", 8883)]
    [InlineData("mqtts://127.0.0.1:18883/", "127.0.0.1", 18883)]
    public void Endpoint_Parses(string text, string host, int port)
    {
        Assert.True(FleetEndpoint.TryParse(text, out var endpoint, out _));
        Assert.Equal(new FleetEndpoint(host, port), endpoint);
    }

    [Theory]
    [InlineData("mqtt://broker.lab:1883", "plain MQTT")]
    [InlineData("https://broker.lab", "not an mqtts://")]
    [InlineData("broker.lab", "not")]
    [InlineData("mqtts://broker.lab:8883/topic", "more than a host")]
    public void Endpoint_Refused_SaysWhy(string text, string why)
    {
        Assert.False(FleetEndpoint.TryParse(text, out var endpoint, out var problem));
        Assert.Null(endpoint);
        Assert.Contains(why, problem, StringComparison.Ordinal);
    }
}

public sealed class FleetBoardTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 6, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Rows_WorstFirst_EachStateJudged()
    {
        var board = new FleetBoard();
        board.Heard("a-idle", new FleetStatus { Arduino = true, Moving = false, CertificateNotAfter = Now.AddDays(100) }, Now);
        board.Heard("b-moving", new FleetStatus { Arduino = true, Moving = true, Lease = "laptop" }, Now);
        board.Heard("c-offline", FleetStatus.OfflineWill, Now);
        board.Heard("d-arduino", new FleetStatus { Arduino = false, ArduinoDetail = "no such port" }, Now);
        board.Heard("e-silent", new FleetStatus { Arduino = true }, Now - TimeSpan.FromMinutes(5));
        board.Heard("f-expiring", new FleetStatus { Arduino = true, CrlNextUpdate = Now.AddDays(3) }, Now);
        board.Heard("g-gone", new FleetStatus(), Now);
        board.Heard("g-gone", null, Now);

        var rows = board.Rows(Now);
        Assert.Equal(["c-offline", "e-silent", "d-arduino", "f-expiring", "b-moving", "a-idle"], rows.Select(r => r.Robot));
        Assert.Equal([FleetRowState.Offline, FleetRowState.Silent, FleetRowState.ArduinoDown, FleetRowState.Expiring, FleetRowState.Moving, FleetRowState.Idle], rows.Select(r => r.State));
        Assert.Equal("driven by laptop", rows[4].Note);
        Assert.Equal("no such port", rows[2].Note);
    }
}
