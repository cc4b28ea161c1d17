// Timing of the Pi's side of the serial link (docs/course-protocol.md §2): port settings, the Uno's reset on
// open, how long to wait for replies; the team's declared commands (docs/extensions.md), which say which codes move
// the robot and what answers them.
using Alex.Protocol.Extensions;

namespace Alex.Protocol.Serial;

/// <summary>Settings of the serial link to the Arduino and its exchange. The defaults suit a real Uno at 9600 baud.</summary>
public sealed record ArduinoLinkOptions
{
    /// <summary>Line speed, 8N1 (the course uses 9600; 2019 used 57600).</summary>
    public int BaudRate { get; init; } = 9600;

    /// <summary>
    /// Wait after opening the port before the first frame: opening resets an Uno through DTR and its
    /// bootloader swallows what arrives meanwhile (docs/course-protocol.md §2: 2-3 s). Zero for a pty or a test.
    /// </summary>
    public TimeSpan ResetDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the Arduino has to answer a command before the request is reported TimedOut.</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// After HELLO (sent once per open, not waited for) the link waits this long before sending
    /// commands, so a firmware that answers HELLO with OK cannot have that OK taken for the reply to
    /// the first command. Null: two frame times at <see cref="BaudRate"/> plus 50 ms.
    /// </summary>
    public TimeSpan? HelloGrace { get; init; }

    /// <summary>
    /// When a GET_STATS is answered by STATUS first and the firmware's order is not yet known, how
    /// long to wait for a trailing OK before concluding the firmware sends STATUS only. The caller
    /// gets the STATUS at once; only the next command waits, and only until the order is learnt (once per
    /// opening of the port). Null: two frame times plus 250 ms: a busy Pi may read the trailing OK late, and a late
    /// OK taken for the next command's reply would be worse than one slower command.
    /// </summary>
    public TimeSpan? StatsGrace { get; init; }

    /// <summary>First wait before reopening a lost port; doubles on each failure up to <see cref="MaxReopenDelay"/>.</summary>
    public TimeSpan ReopenDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxReopenDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How old a STATUS reading may be and still answer a GET_STATS without asking the Arduino again, provided no
    /// command has been written since it was taken. The reply carries the reading's time. Zero: always ask.
    /// </summary>
    public TimeSpan ReadingMaxAge { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The team's declared commands: which codes 7–255 move the robot and which packet answers each.</summary>
    public TeamExtensions Extensions { get; init; } = TeamExtensions.None;

    /// <summary>Time one 140-byte frame takes on the line (10 bits per byte).</summary>
    public TimeSpan FrameTime => TimeSpan.FromSeconds(140.0 * 10 / BaudRate);

    public TimeSpan EffectiveHelloGrace => HelloGrace ?? ((2 * FrameTime) + TimeSpan.FromMilliseconds(50));

    public TimeSpan EffectiveStatsGrace => StatsGrace ?? ((2 * FrameTime) + TimeSpan.FromMilliseconds(250));

    public void Validate()
    {
        if (BaudRate <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BaudRate), BaudRate, "must be positive");
        }

        if (ReplyTimeout <= TimeSpan.Zero || ResetDelay < TimeSpan.Zero || ReopenDelay <= TimeSpan.Zero || MaxReopenDelay < ReopenDelay)
        {
            throw new ArgumentOutOfRangeException(nameof(ReplyTimeout), "timeouts must be positive (reset delay may be zero)");
        }
    }
}
