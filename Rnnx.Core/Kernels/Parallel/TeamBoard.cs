using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Rnnx.Kernels;

/// <summary>One parallel loop of a kernel: <see cref="Run"/> computes part <c>p</c> of <c>parts</c>.</summary>
/// <remarks>
/// Kernels keep one instance per thread and refill its fields before each loop, so a loop allocates nothing. A part
/// must compute each of its output elements with the same arithmetic as the unsplit kernel, which makes the results
/// independent of the number of parts and of which thread runs which part.
/// </remarks>
internal abstract class TeamJob
{
    /// <summary>Computes part <paramref name="part"/>.</summary>
    public abstract void Run(int part);
}

/// <summary>
/// A team for intra-op parallelism: the thread that opened it (the owner) posts parallel loops, which it and the
/// threads serving the team (<see cref="Serve"/>) split part by part. The team of the current thread is
/// <see cref="Current"/>; a kernel asks it how many parts to cut its work into (<see cref="Size"/>) and runs them with
/// <see cref="For"/>. Parts are claimed one at a time, so any number of serving threads (none included) computes
/// the same parts; a loop posted while another runs (a kernel inside a part) runs inline.
/// </summary>
internal sealed class TeamBoard
{
    [ThreadStatic]
    private static TeamBoard? t_current;

    /// <summary>Busy-waiting before blocking: a recurrent step posts a loop every few microseconds.</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 20_000;   // 50 µs

    private readonly SemaphoreSlim _wake = new(0);
    private int _sleepers;
    /// <summary>
    /// Generation (high 32 bits, wrapping) and the next unclaimed part (low 32 bits) of the posted loop. Its values
    /// never repeat (parts are claimed upwards, then <see cref="Exhausted"/>, then the next generation), so a claim
    /// that succeeds proves the state did not change since it was read, nor the job and parts read in between.
    /// </summary>
    private long _state;
    /// <summary>Next-part value that ends a generation before the board's job and parts are overwritten.</summary>
    private const uint Exhausted = uint.MaxValue;
    private int _parts, _done, _busy;
    private TeamJob? _job;
    private Exception? _error;
    private volatile bool _closed = true;

    private static long s_splitLoops;

    /// <summary>Loops split over a team since the process started (lets tests see that a split happened).</summary>
    public static long SplitLoops => Interlocked.Read(ref s_splitLoops);

    /// <summary>The team the current thread owns, or null.</summary>
    public static TeamBoard? Current => t_current;

    /// <summary>The parts the current thread's kernels cut large loops into (1 without a team).</summary>
    public static int CurrentSize => t_current is { } t ? t.Size : 1;

    /// <summary>Threads of the team (owner included) for this opening: the number of parts kernels cut loops into.</summary>
    public int Size { get; private set; } = 1;

    /// <summary>
    /// Opens the team for <paramref name="size"/> threads (owner included), before any thread serves it; the owner
    /// then calls <see cref="Enter"/> on its own thread.
    /// </summary>
    public void Open(int size)
    {
        Size = Math.Max(1, size);
        _closed = false;
    }

    /// <summary>Makes the calling thread the owner: its kernels split their loops over the team until <see cref="Close"/>.</summary>
    public void Enter() => t_current = this;

    /// <summary>Ends the opening (called by the owner): serving threads return, the owner's kernels run unsplit again.</summary>
    public void Close()
    {
        if (t_current == this) t_current = null;
        _closed = true;
        Interlocked.MemoryBarrier();   // the store above before the read below: a sleeper either sees it or is counted
        int sleepers = Volatile.Read(ref _sleepers);
        if (sleepers > 0) _wake.Release(sleepers);
    }

    /// <summary>Runs <paramref name="job"/> for parts 0..parts-1 on the current thread's team (inline without one).</summary>
    public static void For(int parts, TeamJob job)
    {
        var team = t_current;
        if (team is null || parts <= 1 || Interlocked.CompareExchange(ref team._busy, 1, 0) != 0)
        {
            for (int p = 0; p < parts; p++) job.Run(p);
            return;
        }
        try
        {
            team.Post(parts, job);
        }
        finally
        {
            Volatile.Write(ref team._busy, 0);
        }
    }

    private void Post(int parts, TeamJob job)
    {
        Interlocked.Increment(ref s_splitLoops);
        long previous = Generation(Volatile.Read(ref _state));
        // A helper late for the previous generation may still try to claim one of its parts against the job and
        // parts below: ending the generation first (a full fence) makes such a claim fail instead of running a
        // part of this loop that is claimed again after the publication.
        Interlocked.Exchange(ref _state, previous << 32 | Exhausted);
        Volatile.Write(ref _job, job);
        Volatile.Write(ref _parts, parts);
        Volatile.Write(ref _done, 0);
        long generation = (previous + 1) & 0xFFFF_FFFF;
        Interlocked.Exchange(ref _state, generation << 32);   // publishes job and parts (a full fence)
        int sleepers = Volatile.Read(ref _sleepers);
        if (sleepers > 0) _wake.Release(sleepers);
        Work(generation);
        var spin = new SpinWait();
        while (Volatile.Read(ref _done) < parts) spin.SpinOnce(sleep1Threshold: -1);
        _job = null;
        if (_error is { } e)
        {
            _error = null;
            ExceptionDispatchInfo.Capture(e).Throw();
        }
    }

    /// <summary>Claims and runs parts of generation <paramref name="generation"/> until none is left.</summary>
    /// <remarks>
    /// The job and parts are read between the state and the claim of that state: a loop posted meanwhile changes the
    /// state before overwriting them, so a successful claim ran against this generation's own job and parts.
    /// </remarks>
    private void Work(long generation)
    {
        while (true)
        {
            long s = Volatile.Read(ref _state);
            if (Generation(s) != generation) return;
            var job = Volatile.Read(ref _job);
            int parts = Volatile.Read(ref _parts);
            uint next = (uint)s;
            if (job is null || next >= (uint)parts) return;
            if (Interlocked.CompareExchange(ref _state, s + 1, s) != s) continue;
            try
            {
                job.Run((int)next);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, e, null);
            }
            Interlocked.Increment(ref _done);
        }
    }

    /// <summary>Helps the owner with its loops until <see cref="Close"/> (called by a thread that is not the owner).</summary>
    public void Serve()
    {
        long seen = Generation(Volatile.Read(ref _state));
        while (!_closed)
        {
            long generation = WaitForLoop(seen);
            if (generation < 0) return;
            seen = generation;
            Work(generation);
        }
    }

    /// <summary>The generation of state <paramref name="state"/> (never negative, so -1 can mean closed).</summary>
    private static long Generation(long state) => (long)((ulong)state >> 32);

    /// <summary>The generation of the next posted loop after <paramref name="seen"/>, or -1 when closed.</summary>
    private long WaitForLoop(long seen)
    {
        long start = Stopwatch.GetTimestamp();
        var spin = new SpinWait();
        while (true)
        {
            if (_closed) return -1;
            long g = Generation(Volatile.Read(ref _state));
            if (g != seen) return g;
            if (Stopwatch.GetTimestamp() - start > SpinTicks) break;
            spin.SpinOnce(sleep1Threshold: -1);
        }
        while (true)
        {
            Interlocked.Increment(ref _sleepers);
            long g = Generation(Volatile.Read(ref _state));
            if (g == seen && !_closed) _wake.Wait();
            Interlocked.Decrement(ref _sleepers);
            if (_closed) return -1;
            g = Generation(Volatile.Read(ref _state));
            if (g != seen) return g;
        }
    }
}
