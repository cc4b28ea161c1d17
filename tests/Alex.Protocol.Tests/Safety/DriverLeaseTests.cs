using Alex.Protocol.AlexLink;
using Alex.Protocol.Safety;
using Alex.Protocol.Serial;
using Microsoft.Extensions.Time.Testing;

namespace Alex.Protocol.Tests.Safety;

/// <summary>The lease and the dead-man as pure decisions over a fake clock: no sleeping.</summary>
public sealed class DriverLeaseTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(1500);
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 12, 1, 7, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly LeaseClient _laptop = new(1, "laptop.epp.com", AlexLinkRole.Driver, SendsHeartbeats: true);
    private readonly LeaseClient _laptop2 = new(2, "laptop-2", AlexLinkRole.Driver, SendsHeartbeats: true);
    private readonly LeaseClient _watcher = new(3, "ta-laptop", AlexLinkRole.Watcher, SendsHeartbeats: true);
    private readonly LeaseClient _classic = new(4, "laptop.epp.com", AlexLinkRole.Driver, SendsHeartbeats: false);

    private static DriveCommand Forward(uint cm = 50, uint speed = 75) => new(CommandCode.Forward, cm, speed);

    private DriverLease NewLease(DriveLimits? limits = null)
    {
        _time.SetLocalTimeZone(TimeZoneInfo.Utc);
        return new DriverLease(_time, Window, limits);
    }

    [Fact]
    public void Authorize_FirstDriverMove_TakesLease()
    {
        var lease = NewLease();
        var d = lease.Authorize(_laptop, Forward());
        Assert.True(d.IsAllowed);
        Assert.Equal(new LeaseNotice(AlexLinkLeaseChange.Taken, "laptop.epp.com", Start, "laptop.epp.com took the lease"), d.Notice);
        Assert.Null(d.Stop);
        Assert.Equal(_laptop, lease.Holder);
        Assert.True(lease.MayBeMoving);
    }

    [Fact]
    public void Authorize_SecondDriverWhileHeld_RefusedNamingHolderAndTime()
    {
        var lease = NewLease();
        lease.Authorize(_laptop2, Forward());
        _time.Advance(TimeSpan.FromSeconds(1));
        var d = lease.Authorize(_laptop, Forward());
        Assert.False(d.IsAllowed);
        Assert.Equal(AlexLinkErrorCode.NotDriver, d.Error);
        Assert.Equal("not the driver: laptop-2 holds the lease since 12:01:07", d.Text);
        Assert.Equal(_laptop2, lease.Holder);
    }

    [Fact]
    public void Authorize_SameCertificateSecondConnection_IsNotTheHolder()
    {
        var lease = NewLease();
        lease.Authorize(_laptop, Forward());
        var other = _laptop with { ConnectionId = 99 };
        Assert.Equal(AlexLinkErrorCode.NotDriver, lease.Authorize(other, Forward()).Error);
    }

    [Fact]
    public void Authorize_Watcher_MayOnlyStop()
    {
        var lease = NewLease();
        var d = lease.Authorize(_watcher, Forward());
        Assert.False(d.IsAllowed);
        Assert.Equal(AlexLinkErrorCode.Forbidden, d.Error);
        Assert.Contains("may only watch and STOP", d.Text, StringComparison.Ordinal);
        Assert.Null(lease.Holder);
        Assert.Equal(AlexLinkErrorCode.Forbidden, lease.Take(_watcher).Error);
        Assert.Equal(AlexLinkErrorCode.Forbidden, lease.Authorize(_watcher, DriveCommand.ClearStats).Error);
    }

    [Fact]
    public void Authorize_AnyoneStops_AndAnyoneReadsStats()
    {
        var lease = NewLease();
        lease.Authorize(_laptop, Forward());
        Assert.True(lease.MayBeMoving);
        Assert.True(lease.Authorize(_watcher, DriveCommand.GetStats).IsAllowed);
        Assert.True(lease.Authorize(_laptop2, DriveCommand.GetStats).IsAllowed);
        var stop = lease.Authorize(_watcher, DriveCommand.Stop);
        Assert.True(stop.IsAllowed);
        Assert.Null(stop.Notice);
        Assert.False(lease.MayBeMoving);
        Assert.Equal(_laptop, lease.Holder); // a watcher's STOP does not take the lease away
    }

    [Fact]
    public void Authorize_GetStats_DoesNotTakeLease()
    {
        var lease = NewLease();
        Assert.True(lease.Authorize(_laptop, DriveCommand.GetStats).IsAllowed);
        Assert.Null(lease.Holder);
    }

    [Theory]
    [InlineData(CommandCode.Forward, 301u, 50u, "distance 301 cm is over the limit of 300 cm")]
    [InlineData(CommandCode.Reverse, 0u, 50u, "distance 0 means \"until stopped\", which the limit of 300 cm does not allow")]
    [InlineData(CommandCode.Forward, 100u, 61u, "speed 61 % is over the limit of 60 %")]
    [InlineData(CommandCode.TurnLeft, 91u, 50u, "angle 91° is over the limit of 90°")]
    [InlineData(CommandCode.TurnRight, 90u, 101u, "speed 101 % is not a percentage (0 to 100)")]
    public void Authorize_OverLimit_RefusedWithClearText(CommandCode code, uint p0, uint p1, string text)
    {
        var lease = NewLease(new DriveLimits(MaxSpeedPercent: 60, MaxDistanceCm: 300, MaxAngleDegrees: 90));
        var d = lease.Authorize(_laptop, new DriveCommand(code, p0, p1));
        Assert.False(d.IsAllowed);
        Assert.Equal(AlexLinkErrorCode.LimitExceeded, d.Error);
        Assert.Equal(text, d.Text);
        Assert.False(lease.MayBeMoving);
        Assert.Null(lease.Holder);
    }

    [Theory]
    [InlineData(300u, 0u, CommandCode.TurnRight, 0u, "angle 0 means \"until stopped\", which the distance limit of 300 cm does not allow")]
    [InlineData(0u, 90u, CommandCode.Forward, 0u, "distance 0 means \"until stopped\", which the angle limit of 90° does not allow")]
    [InlineData(300u, 180u, CommandCode.TurnLeft, 1_000_000_000u, "angle 1000000000° is over the limit of 180°")]
    [InlineData(300u, 180u, CommandCode.TurnRight, 0u, "angle 0 means \"until stopped\", which the limit of 180° does not allow")]
    public void Check_MoveWithoutEndOrTurnPastTheLimit_Refused(uint maxDistance, uint maxAngle, CommandCode code, uint p0, string text)
    {
        var limits = new DriveLimits(MaxSpeedPercent: 60, MaxDistanceCm: maxDistance, MaxAngleDegrees: maxAngle);
        Assert.Equal(text, limits.Check(new DriveCommand(code, p0, 50)));
    }

    [Theory]
    [InlineData(CommandCode.Forward, 300u, 60u)]
    [InlineData(CommandCode.TurnLeft, 90u, 1u)]
    [InlineData(CommandCode.Forward, 0u, 100u)] // no limits: "until stopped" is the firmware's right
    public void Limits_AtOrWithin_Allowed(CommandCode code, uint p0, uint p1)
    {
        var limits = p0 == 0 ? DriveLimits.None : new DriveLimits(60, 300, 90);
        Assert.Null(limits.Check(new DriveCommand(code, p0, p1)));
    }

    [Fact]
    public void Take_Explicit_ThenOthersRefused_ThenRelease()
    {
        var lease = NewLease();
        var take = lease.Take(_laptop2);
        Assert.Equal(AlexLinkLeaseChange.Taken, take.Notice!.Change);
        Assert.Equal(AlexLinkErrorCode.NotDriver, lease.Take(_laptop).Error);
        Assert.True(lease.Take(_laptop2).IsAllowed); // taking what you hold is fine
        Assert.Equal(AlexLinkErrorCode.NotDriver, lease.Release(_laptop).Error);
        var release = lease.Release(_laptop2);
        Assert.True(release.IsAllowed);
        Assert.Equal(AlexLinkLeaseChange.Released, release.Notice!.Change);
        Assert.Null(release.Stop); // nothing was moving
        Assert.True(lease.Take(_laptop).IsAllowed);
    }

    [Fact]
    public void Release_WhileMoving_OrdersStop()
    {
        var lease = NewLease();
        lease.Authorize(_laptop, Forward());
        var d = lease.Release(_laptop);
        Assert.NotNull(d.Stop);
        Assert.False(lease.MayBeMoving);
    }

    [Fact]
    public void Evaluate_DriverSilentPastWindowWhileMoving_StopsAndExpires()
    {
        var lease = NewLease();
        lease.Authorize(_laptop, Forward());
        Assert.Equal(Start + Window, lease.NextCheckAt);

        _time.Advance(Window - TimeSpan.FromMilliseconds(1));
        Assert.Same(LeaseDecision.Nothing, lease.Evaluate());

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var d = lease.Evaluate();
        Assert.Equal(new StopOrder(AlexLinkStopReason.HeartbeatMissed, "laptop.epp.com", Start + Window,
            "laptop.epp.com sent nothing for 1500 ms (lease window 1500 ms) while Alex may be moving: stopped"), d.Stop);
        Assert.Equal(AlexLinkLeaseChange.Expired, d.Notice!.Change);
        Assert.Null(lease.Holder);
        Assert.False(lease.MayBeMoving);
        Assert.Null(lease.NextCheckAt);
        Assert.Same(LeaseDecision.Nothing, lease.Evaluate()); // once
    }

    [Fact]
    public void Evaluate_HeartbeatsKeepTheLease()
    {
        var lease = NewLease();
        lease.Authorize(_laptop, Forward());
        for (var i = 0; i < 20; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            lease.Heard(_laptop);
            Assert.Same(LeaseDecision.Nothing, lease.Evaluate());
        }

        Assert.Equal(_time.GetUtcNow() + Window, lease.NextCheckAt);
        Assert.Equal(_laptop, lease.Holder);
    }

    [Fact]
    public void Heard_FromOthers_DoesNotKeepTheDriverAlive()
    {
        var lease = NewLease();
        lease.Authorize(_laptop, Forward());
        _time.Advance(Window);
        lease.Heard(_watcher);
        lease.Authorize(_watcher, DriveCommand.GetStats);
        Assert.NotNull(lease.Evaluate().Stop);
    }

    [Fact]
    public void Evaluate_SilentButNotMoving_ExpiresWithoutStop()
    {
        var lease = NewLease();
        lease.Take(_laptop);
        _time.Advance(TimeSpan.FromSeconds(2));
        var d = lease.Evaluate();
        Assert.Null(d.Stop);
        Assert.Equal(AlexLinkLeaseChange.Expired, d.Notice!.Change);
        Assert.True(lease.Authorize(_laptop2, Forward()).IsAllowed);
    }

    [Fact]
    public void Evaluate_ClassicHolderSendsNoHeartbeats_NeverExpires()
    {
        var lease = NewLease();
        lease.Authorize(_classic, Forward());
        _time.Advance(TimeSpan.FromHours(1));
        Assert.Same(LeaseDecision.Nothing, lease.Evaluate());
        Assert.Null(lease.NextCheckAt);
        Assert.Equal(_classic, lease.Holder);
    }

    [Theory]
    [InlineData(CommandCode.Forward)]
    [InlineData(CommandCode.Reverse)]
    [InlineData(CommandCode.TurnLeft)]
    [InlineData(CommandCode.TurnRight)]
    public void Evaluate_ClassicSilentDuringMoveWithoutEnd_StoppedAtTheSilentMoveLimitAndKeepsTheLease(CommandCode code)
    {
        var lease = NewLease();
        Assert.True(lease.Authorize(_classic, new DriveCommand(code, 0, 50)).IsAllowed);
        Assert.Equal(Start + DriverLease.DefaultSilentMoveLimit, lease.NextCheckAt);

        _time.Advance(DriverLease.DefaultSilentMoveLimit - TimeSpan.FromMilliseconds(1));
        Assert.Same(LeaseDecision.Nothing, lease.Evaluate());

        _time.Advance(TimeSpan.FromMilliseconds(1));
        var d = lease.Evaluate();
        Assert.Equal(AlexLinkStopReason.HeartbeatMissed, d.Stop!.Reason);
        Assert.Equal("laptop.epp.com sent nothing for 3000 ms during a move without end (limit 3000 ms): stopped", d.Stop.Text);
        Assert.Null(d.Notice);
        Assert.Equal(_classic, lease.Holder);
        Assert.False(lease.MayBeMoving);
        Assert.Null(lease.NextCheckAt);
        Assert.Same(LeaseDecision.Nothing, lease.Evaluate());
    }

    [Fact]
    public void Evaluate_ClassicSpeaksWithinTheLimit_DeadlineMovesWithIt()
    {
        var lease = new DriverLease(_time, Window, silentMoveLimit: TimeSpan.FromSeconds(5));
        lease.Authorize(_classic, new DriveCommand(CommandCode.Forward, 0, 50));
        for (var i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(4));
            Assert.Same(LeaseDecision.Nothing, lease.Evaluate());
            lease.Heard(_classic);
        }

        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(5), lease.NextCheckAt);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.NotNull(lease.Evaluate().Stop);
    }

    [Fact]
    public void Evaluate_ClassicBoundedMoveAfterMoveWithoutEnd_RunsToItsEnd()
    {
        var lease = NewLease();
        lease.Authorize(_classic, new DriveCommand(CommandCode.Forward, 0, 50));
        lease.Authorize(_classic, new DriveCommand(CommandCode.TurnLeft, 90, 50));
        Assert.Null(lease.NextCheckAt);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Same(LeaseDecision.Nothing, lease.Evaluate());
        Assert.True(lease.MayBeMoving);
    }

    [Fact]
    public void Evaluate_ClassicCodeTheFirmwareDoesNotDefine_CountsAsMoveWithoutEnd()
    {
        var lease = NewLease();
        lease.Authorize(_classic, new DriveCommand((CommandCode)9, 120, 0));
        _time.Advance(DriverLease.DefaultSilentMoveLimit);
        Assert.NotNull(lease.Evaluate().Stop);
    }

    [Fact]
    public void Evaluate_ClassicStoppedThenSilent_Nothing()
    {
        var lease = NewLease();
        lease.Authorize(_classic, new DriveCommand(CommandCode.Forward, 0, 50));
        lease.Authorize(_watcher, DriveCommand.Stop);
        Assert.Null(lease.NextCheckAt);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Same(LeaseDecision.Nothing, lease.Evaluate());
    }

    [Fact]
    public void Departed_Driver_StopsAtOnceEvenIfIdle()
    {
        var lease = NewLease();
        lease.Authorize(_classic, DriveCommand.ClearStats);
        Assert.False(lease.MayBeMoving);
        var d = lease.Departed(_classic);
        Assert.Equal(AlexLinkStopReason.DriverLeft, d.Stop!.Reason);
        Assert.Equal("laptop.epp.com disconnected while driving: stopped Alex", d.Stop.Text);
        Assert.Equal(AlexLinkLeaseChange.DriverLeft, d.Notice!.Change);
        Assert.Null(lease.Holder);
    }

    [Fact]
    public void Departed_Revoked_SaysSo()
    {
        var lease = NewLease();
        lease.Authorize(_laptop, Forward());
        var d = lease.Departed(_laptop, revoked: true);
        Assert.Equal(AlexLinkStopReason.DriverRevoked, d.Stop!.Reason);
        Assert.Equal(AlexLinkLeaseChange.Revoked, d.Notice!.Change);
    }

    [Fact]
    public void Departed_NotHolder_Nothing()
    {
        var lease = NewLease();
        lease.Authorize(_laptop, Forward());
        Assert.Same(LeaseDecision.Nothing, lease.Departed(_watcher));
        Assert.Equal(_laptop, lease.Holder);
    }

    [Fact]
    public void Notices_MapToAlexLinkMessages()
    {
        var lease = NewLease();
        var taken = lease.Authorize(_laptop, Forward()).Notice!.ToMessage();
        Assert.Equal(new AlexLinkLeaseState(AlexLinkLeaseChange.Taken, Start.ToUnixTimeMilliseconds(), "laptop.epp.com", "laptop.epp.com took the lease"), taken);
        var current = lease.Current();
        Assert.Equal("laptop.epp.com holds the lease since 12:01:07", current.Text);
        var stop = lease.Departed(_laptop).Stop!.ToMessage();
        Assert.Equal(AlexLinkStopReason.DriverLeft, stop.Reason);
        Assert.Equal("", lease.Current().Holder);
    }

    [Fact]
    public void NotDriverText_UsesServerLocalTime()
    {
        _time.SetLocalTimeZone(TimeZoneInfo.CreateCustomTimeZone("UTC+8", TimeSpan.FromHours(8), "UTC+8", "UTC+8"));
        var lease = new DriverLease(_time, Window);
        lease.Take(_laptop2);
        Assert.Equal("not the driver: laptop-2 holds the lease since 20:01:07", lease.Authorize(_laptop, Forward()).Text);
    }
}
