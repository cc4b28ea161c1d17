using Alex.Protocol.Serial;

namespace Alex.Protocol.Tests;

public sealed class DriveCommandTests
{
    [Theory]
    [InlineData("f 50 75", CommandCode.Forward, 50u, 75u)]
    [InlineData("F 10 100", CommandCode.Forward, 10u, 100u)]
    [InlineData("forward 1 2", CommandCode.Forward, 1u, 2u)]
    [InlineData("b 30 60", CommandCode.Reverse, 30u, 60u)]
    [InlineData("l 90 80", CommandCode.TurnLeft, 90u, 80u)]
    [InlineData("right 45 70", CommandCode.TurnRight, 45u, 70u)]
    [InlineData("s", CommandCode.Stop, 0u, 0u)]
    [InlineData("stop", CommandCode.Stop, 0u, 0u)]
    [InlineData("g", CommandCode.GetStats, 0u, 0u)]
    [InlineData("c", CommandCode.ClearStats, 0u, 0u)]
    [InlineData("f 0 50", CommandCode.Forward, 0u, 50u)]
    public void TryParse_WhatPeopleType_GivesTheCommand(string text, CommandCode code, uint p0, uint p1)
    {
        Assert.True(DriveCommand.TryParse(text.Split(' '), out var command, out var error), error);
        Assert.Equal(new DriveCommand(code, p0, p1), command);
    }

    [Theory]
    [InlineData("x", "unknown command 'x' (use f, b, l, r, s, g or c)")]
    [InlineData("f 50", "'f' takes two numbers: the distance in cm and the speed in percent, e.g. 'f 50 75'")]
    [InlineData("l 90", "'l' takes two numbers: the angle in degrees and the speed in percent, e.g. 'l 50 75'")]
    [InlineData("f -5 10", "the distance in cm must be a whole number of 0 or more, got '-5'")]
    [InlineData("f 5 101", "the speed must be a whole percentage from 0 to 100, got '101'")]
    [InlineData("f 5 1.5", "the speed must be a whole percentage from 0 to 100, got '1.5'")]
    [InlineData("s 1", "'s' takes no parameters, got '1'")]
    public void TryParse_Wrong_SaysWhy(string text, string expected)
    {
        Assert.False(DriveCommand.TryParse(text.Split(' '), out var command, out var error));
        Assert.Null(command);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void ToString_RoundTripsThroughTryParse()
    {
        foreach (var c in new[] { new DriveCommand(CommandCode.TurnRight, 45, 70), DriveCommand.Stop, DriveCommand.GetStats, DriveCommand.ClearStats })
        {
            Assert.True(DriveCommand.TryParse(c.ToString().Split(' '), out var back, out _));
            Assert.Equal(c, back);
        }
    }

    [Fact]
    public void ToPacket_IsTheSerialCommand()
    {
        Assert.Equal(SerialPacket.ForCommand(CommandCode.Forward, 50, 75), new DriveCommand(CommandCode.Forward, 50, 75).ToPacket());
    }
}
