namespace Alex.Tests.Shared;

/// <summary>Every await in a test is bounded: a hang fails the test with a message instead of stalling CI.</summary>
public static class Bounded
{
    /// <summary>Default bound for one awaited step in a test.</summary>
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(10);

    public static async Task<T> Within<T>(this Task<T> task, TimeSpan? limit = null, string? what = null)
    {
        try
        {
            return await task.WaitAsync(limit ?? Step).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out after {(limit ?? Step).TotalSeconds:0.#} s waiting for {what ?? "a step"}");
        }
    }

    public static async Task Within(this Task task, TimeSpan? limit = null, string? what = null)
    {
        try
        {
            await task.WaitAsync(limit ?? Step).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out after {(limit ?? Step).TotalSeconds:0.#} s waiting for {what ?? "a step"}");
        }
    }

    public static Task<T> Within<T>(this ValueTask<T> task, TimeSpan? limit = null, string? what = null) => task.AsTask().Within(limit, what);

    public static Task Within(this ValueTask task, TimeSpan? limit = null, string? what = null) => task.AsTask().Within(limit, what);

    /// <summary>Polls a condition until it holds, bounded; for state that has no event to await.</summary>
    public static async Task Until(Func<bool> condition, TimeSpan? limit = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? Step);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {(limit ?? Step).TotalSeconds:0.#} s waiting until {what ?? "a condition held"}");
            }

            await Task.Delay(10).ConfigureAwait(false);
        }
    }

    /// <summary>Polls an asynchronous condition (one that asks another program) until it holds, bounded.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan? limit = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? Step);
        while (!await condition().ConfigureAwait(false))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {(limit ?? Step).TotalSeconds:0.#} s waiting until {what ?? "a condition held"}");
            }

            await Task.Delay(50).ConfigureAwait(false);
        }
    }
}
