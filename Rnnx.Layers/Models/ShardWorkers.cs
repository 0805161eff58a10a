namespace Rnnx.Models;

/// <summary>
/// Runs the shards of one step on dedicated threads (the caller runs shard 0). No task or delegate is allocated per
/// step: the caller passes a cached delegate and threads wait on semaphores between steps. One caller at a time: the
/// model hands the workers to one owner (training, or one Predict call) and other Predict calls run their shards on
/// their own threads.
/// </summary>
internal sealed class ShardWorkers : IDisposable
{
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim[] _start;
    private readonly SemaphoreSlim _done;
    private readonly Exception?[] _errors;
    private Action<int> _work = static _ => { };
    private int _shards;
    private volatile bool _stopping;

    public ShardWorkers(int extraThreads)
    {
        _threads = new Thread[extraThreads];
        _start = new SemaphoreSlim[extraThreads];
        _errors = new Exception?[extraThreads + 1];
        _done = new SemaphoreSlim(0);
        for (int i = 0; i < extraThreads; i++)
        {
            _start[i] = new SemaphoreSlim(0);
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
            _start[id - 1].Wait();
            if (_stopping) return;
            try
            {
                for (int s = id; s < _shards; s += Threads) _work(s);
            }
            catch (Exception ex)
            {
                _errors[id] = ex;
            }
            _done.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> for shards 0..shards-1, shard s on thread s mod Threads; returns when all are done;
    /// rethrows the first error.
    /// </summary>
    public void Run(int shards, Action<int> work)
    {
        _work = work;
        _shards = shards;
        int used = Math.Min(_threads.Length, Math.Max(0, shards - 1));
        for (int i = 0; i < used; i++) _start[i].Release();
        try
        {
            for (int s = 0; s < shards; s += Threads) work(s);
        }
        catch (Exception ex)
        {
            _errors[0] = ex;
        }
        for (int i = 0; i < used; i++) _done.Wait();
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
        foreach (var s in _start) s.Release();
    }
}
