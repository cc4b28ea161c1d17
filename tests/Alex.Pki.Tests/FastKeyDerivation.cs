using System.Runtime.CompilerServices;

namespace Alex.Pki.Tests;

internal static class FastKeyDerivation
{
    /// <summary>
    /// Encrypted keys made in-process by these tests use fewer PBKDF2 rounds: the file format is the
    /// same (openssl still reads it), only slower guessing is given up, and the tests stay fast on a
    /// busy two-core machine. The CLI tests run the real executable with the real count.
    /// </summary>
    [ModuleInitializer]
    internal static void Initialize() => PrivateKeyFile.Pbkdf2Iterations = 2_000;
}
