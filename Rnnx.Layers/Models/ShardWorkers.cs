using Rnnx.Threading;

namespace Rnnx.Models;

/// <summary>
/// Runs the shards of one step on dedicated threads (the caller runs shard 0). No task or delegate is allocated per
/// step: the caller passes a cached delegate and threads wait on <see cref="SpinSignal"/>s between steps (spinning
/// through the short gaps of a training loop, sleeping when the model is idle). One caller at a time: the
/// model hands the workers to one owner (training, or one Predict call) and other Predict calls run their shards on
/// their own threads.
/// <para>
/// With fewer shards than threads, the threads without a shard serve the shard threads' <see cref="OpTeam"/>s (thread
/// j helps shard thread j mod active), which split their large products: every thread is used, and since the ops
/// compute each element alike however they are split, the results do not depend on the thread count.
/// </para>
/// </summary>
internal sealed class ShardWorkers : IDisposable
{
    /// <summary>
    /// How long a thread spins for the next hand-off before it sleeps: longer than what runs on one thread between the
    /// shards of consecutive steps (gradient sums, the optimizer, the batch loop), so a training loop never sleeps.
    /// </summary>
    private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 2_000;   // 0.5 ms

    private readonly Thread[] _threads;
    private readonly SpinSignal[] _start;
    private readonly SpinSignal _done = new();
    private int _pending;
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
            _start[id - 1].Wait(SpinTicks);
            if (_stopping) return;
            try
            {
                if (id < _active) RunShards(id);
                else _teams[id % _active].Serve();
            }
            catch (Exception ex)
            {
                _errors[id] = ex;
            }
            if (Interlocked.Decrement(ref _pending) == 0) _done.Set();
        }
    }

    /// <summary>The shards of shard thread <paramref name="id"/>: s = id, id + active, ..., inside its team when teamed.</summary>
    private void RunShards(int id)
    {
        if (!_teamed)
        {
            for (int s = id; s < _shards; s += _active) _work(s);
            return;
        }
        using (_teams[id].Enter())
            for (int s = id; s < _shards; s += _active) _work(s);
    }

    /// <summary>
    /// Runs <paramref name="work"/> for shards 0..shards-1, shard s on thread s mod min(Threads, shards); with
    /// <paramref name="teams"/> and fewer shards than threads, the other threads serve the shard threads' teams.
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
        Volatile.Write(ref _pending, used);
        for (int i = 0; i < used; i++) _start[i].Set();
        try
        {
            RunShards(0);
        }
        catch (Exception ex)
        {
            _errors[0] = ex;
        }
        if (used > 0) _done.Wait(SpinTicks);
        for (int i = 0; i < _errors.Length; i++)
        {
            var e = _errors[i];
            if (e is null) continue;
            Array.Clear(_errors);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        foreach (var s in _start) s.Set();
    }
}
