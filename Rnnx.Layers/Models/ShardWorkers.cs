using Rnnx.Threading;

namespace Rnnx.Models;

/// <summary>
/// Runs the shards of one step on dedicated threads and the caller's (each thread takes the next shard left). No task or delegate is allocated per
/// step: the caller passes a cached delegate and threads wait on <see cref="SpinSignal"/>s between steps (spinning
/// through the short gaps of a training loop, sleeping when the model is idle). One caller at a time: the
/// model hands the workers to one owner (training, or one Predict call) and other Predict calls run their shards on
/// their own threads.
/// <para>
/// With fewer shards than threads, the threads without a shard serve the shard threads' <see cref="OpTeam"/>s (thread
/// j helps shard thread j mod active), which split their large products: every thread is used, and since the ops
/// compute each element alike however they are split, the results do not depend on the thread count.
/// </para>
/// <para>
/// As an <see cref="IParallelRunner"/> the same threads run other numbered items, such as the optimizer's update over
/// fixed element ranges after the shards' backward (each item on whichever thread takes it, no teams).
/// </para>
/// </summary>
internal sealed class ShardWorkers : IDisposable, IParallelRunner
{
    /// <summary>
    /// How long an idle worker spins for the next hand-off before it sleeps: longer than what runs on the caller between
    /// the runs of consecutive training steps (loss sum, the optimizer's scalars, batch loop: tens of microseconds), so a
    /// training loop does not put its threads to sleep every step.
    /// </summary>
    private static readonly long WorkerSpinTicks = System.Diagnostics.Stopwatch.Frequency / 5_000;   // 0.2 ms

    /// <summary>How long the caller spins for workers still running shards before it sleeps (short: a core spinning is a core the worker may need).</summary>
    private static readonly long CallerSpinTicks = System.Diagnostics.Stopwatch.Frequency / 20_000;   // 50 µs

    // A worker's part in the current run: posted by the caller, taken by the worker (running), or idle (done, or
    // revoked by the caller because every shard was taken before the worker woke).
    private const int Idle = 0, Posted = 1, Running = 2;

    private readonly Thread[] _threads;
    private readonly SpinSignal[] _start;
    private readonly int[] _state;
    private readonly SpinSignal _done = new();
    private int _pending, _nextShard;
    private readonly Exception?[] _errors;
    private readonly OpTeam[] _teams;
    private Action<int> _work = static _ => { };
    private int _shards, _active;
    private bool _teamed;
    private volatile bool _stopping;

    public ShardWorkers(int extraThreads)
    {
        _threads = new Thread[extraThreads];
        _start = new SpinSignal[extraThreads];
        _state = new int[extraThreads];
        _errors = new Exception?[extraThreads + 1];
        _teams = new OpTeam[extraThreads + 1];
        for (int i = 0; i < _teams.Length; i++) _teams[i] = new OpTeam();
        for (int i = 0; i < extraThreads; i++)
        {
            _start[i] = new SpinSignal();
            int id = i + 1;
            _threads[i] = new Thread(() => Loop(id)) { IsBackground = true, Name = $"rnnx-shard-{id}" };
            _threads[i].Start();
        }
    }

    public int Threads => _threads.Length + 1;

    private void Loop(int id)
    {
        while (true)
        {
            _start[id - 1].Wait(WorkerSpinTicks);
            if (_stopping) return;
            if (Interlocked.CompareExchange(ref _state[id - 1], Running, Posted) != Posted) continue;   // revoked, or a stale wake-up
            try
            {
                if (id < _active) RunShards(id);
                else _teams[id % _active].Serve();
            }
            catch (Exception ex)
            {
                _errors[id] = ex;
            }
            Volatile.Write(ref _state[id - 1], Idle);
            if (Interlocked.Decrement(ref _pending) == 0) _done.Set();
        }
    }

    /// <summary>
    /// The shards of a shard thread: until none is left, the next shard not yet taken (so a thread that starts late
    /// takes fewer, and the caller never waits for a worker that has not woken); when teamed, s = id, id + active, ...
    /// inside its team (the team's threads are tied to it).
    /// </summary>
    private void RunShards(int id)
    {
        if (!_teamed)
        {
            for (int s = Interlocked.Increment(ref _nextShard) - 1; s < _shards; s = Interlocked.Increment(ref _nextShard) - 1) _work(s);
            return;
        }
        using (_teams[id].Enter())
            for (int s = id; s < _shards; s += _active) _work(s);
    }

    /// <summary>
    /// Runs <paramref name="work"/> for shards 0..shards-1 on up to min(Threads, shards) threads, each shard on
    /// whichever thread takes it first (the work of a shard must not depend on its thread); with <paramref name="teams"/>
    /// and fewer shards than threads, shard s runs on thread s and the other threads serve the shard threads' teams.
    /// Returns when all are done; rethrows the first error.
    /// </summary>
    public void Run(int shards, Action<int> work, bool teams = true)
    {
        _work = work;
        _shards = shards;
        _active = Math.Clamp(shards, 1, Threads);
        _teamed = teams && _active < Threads;
        if (_teamed)
            for (int i = 0; i < _active; i++) _teams[i].Open(Threads / _active + (i < Threads % _active ? 1 : 0));
        int used = _teamed ? _threads.Length : _active - 1;
        // The count and the next shard are written before any worker is posted: a worker still holding a start signal
        // from a run that revoked it may claim its post at once, and its decrement must come after the count it decrements.
        _nextShard = 0;
        Volatile.Write(ref _pending, used);
        for (int i = 0; i < used; i++) Volatile.Write(ref _state[i], Posted);
        for (int i = 0; i < used; i++) _start[i].Set();
        try
        {
            RunShards(0);
        }
        catch (Exception ex)
        {
            _errors[0] = ex;
        }
        // Every shard is taken: a worker that has not woken yet has nothing left to do, so it is not waited for.
        if (!_teamed)
            for (int i = 0; i < used; i++)
                if (Interlocked.CompareExchange(ref _state[i], Idle, Posted) == Posted) Interlocked.Decrement(ref _pending);
        while (Volatile.Read(ref _pending) > 0) _done.Wait(CallerSpinTicks);
        for (int i = 0; i < _errors.Length; i++)
        {
            var e = _errors[i];
            if (e is null) continue;
            Array.Clear(_errors);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
        }
    }

    /// <summary>Items on up to min(Threads, items) threads, each taken by whichever thread is free first (no teams).</summary>
    void IParallelRunner.Run(int items, Action<int> item) => Run(items, item, teams: false);

    public void Dispose()
    {
        _stopping = true;
        foreach (var s in _start) s.Set();
    }
}
