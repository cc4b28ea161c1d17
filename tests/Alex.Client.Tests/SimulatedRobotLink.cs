using Alex.Protocol;
using Alex.Protocol.Serial;
using Alex.Robot.Server;
using Alex.Robot.Simulation;

namespace Alex.Client.Tests;

/// <summary>The robot server's Arduino side, answered by the simulated firmware directly (no serial line).</summary>
internal sealed class SimulatedRobotLink : IRobotLink
{
    private readonly Lock _lock = new();

    public SimulatedRobotLink(TimeProvider time)
    {
        Alex = new SimulatedAlex(new SimulatorSettings(), time);
    }

    public SimulatedAlex Alex { get; }

    public bool IsUp => true;

    public List<DriveCommand> Received { get; } = [];

    public event Action<SerialPacket>? Unsolicited;

    public event Action<bool, string>? StateChanged;

    public Task<RobotReply> ExecuteAsync(DriveCommand command, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Received.Add(command);
            return Task.FromResult(Reply(Alex.Handle(command.ToPacket())));
        }
    }

    public Task<RobotReply> PollStatsAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return Task.FromResult(Reply(Alex.Handle(DriveCommand.GetStats.ToPacket())));
        }
    }

    public void Say(string text) => Unsolicited?.Invoke(SerialPacket.Message(text));

    public void Flap(bool up, string detail) => StateChanged?.Invoke(up, detail);

    private static RobotReply Reply(IReadOnlyList<SerialPacket> replies)
    {
        var status = replies.FirstOrDefault(p => p.IsStatus);
        var error = replies.FirstOrDefault(p => p.Type == PacketType.Error);
        return error is not null ? new RobotReply(RobotReplyKind.ArduinoError, error.Code)
            : status is not null ? new RobotReply(RobotReplyKind.Ok, 0, status.Status)
            : replies.Any(p => p.IsOk) ? new RobotReply(RobotReplyKind.Ok)
            : new RobotReply(RobotReplyKind.Timeout);
    }
}
