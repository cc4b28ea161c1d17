using Alex.Pki.Fuzz;
using SharpFuzz;

// Under afl-fuzz (fuzz/run.sh): one input per run from AFL's shared memory, any exception other than
// PkiException is a crash. With file arguments: run each file once (replays a crash AFL found).
if (args.Length > 0)
{
    foreach (var path in args)
    {
        PkiReaders.ReadAll(File.ReadAllBytes(path));
        Console.WriteLine($"ok {path}");
    }

    return;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var memory = new MemoryStream();
    stream.CopyTo(memory);
    PkiReaders.ReadAll(memory.ToArray());
});
