using Alex.Client;

namespace Alex.Web.Robot;

/// <summary>The robot server's answer to one command, as the page gets it; <paramref name="Reading"/> for a declared command's values or text.</summary>
internal readonly record struct RobotReply(bool Ok, string Text, DeclaredReading? Reading = null);

/// <summary>Who may drive: this gateway's certificate role (driver or watcher) and who holds the lease (null = free).</summary>
internal readonly record struct LeaseView(string Role, string? Holder);
