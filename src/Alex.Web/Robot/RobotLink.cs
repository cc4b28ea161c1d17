namespace Alex.Web.Robot;

/// <summary>The robot server's answer to one command, as the page gets it.</summary>
internal readonly record struct RobotReply(bool Ok, string Text);

/// <summary>Who may drive: this gateway's certificate role (driver or watcher) and who holds the lease (null = free).</summary>
internal readonly record struct LeaseView(string Role, string? Holder);
