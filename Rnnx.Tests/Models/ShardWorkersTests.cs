using Rnnx.Models;

namespace Rnnx.Tests.Models;

/// <summary>
/// The shard threads' hand-off: every shard runs exactly once per run whatever the interleaving (threads take shards
/// as they come, a worker that wakes late finds none left and is not waited for), on more than one thread at once.
/// </summary>
public class ShardWorkersTests
{
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(5)]
    public void EveryShardRunsExactlyOncePerRun(int threads)
    {
        using var workers = new ShardWorkers(threads - 1);
        var counts = new int[8];
        for (int run = 0; run < 3000; run++)
        {
            int shards = 1 + run % 8;
            Array.Clear(counts);
            // odd runs leave a gap between runs, so the workers also go through their sleep and wake-up path
            if (run % 500 == 499) Thread.Sleep(2);
            workers.Run(shards, s => Interlocked.Increment(ref counts[s]), teams: run % 3 == 0);
            for (int s = 0; s < 8; s++)
                Assert.That(counts[s], Is.EqualTo(s < shards ? 1 : 0), $"run {run}, {shards} shards: shard {s}");
        }
    }

    [Test]
    public void TwoShardsRunAtTheSameTimeOnTwoThreads()
    {
        using var workers = new ShardWorkers(1);
        for (int run = 0; run < 3; run++)
        {
            // each shard waits for the other to start: one thread alone could never finish
            using var both = new CountdownEvent(2);
            var met = new bool[2];
            var ids = new int[2];
            workers.Run(2, s =>
            {
                ids[s] = Environment.CurrentManagedThreadId;
                both.Signal();
                met[s] = both.Wait(TimeSpan.FromSeconds(30));
            });
            Assert.That(met, Is.EqualTo(new[] { true, true }), $"run {run}: the shards met");
            Assert.That(ids[0], Is.Not.EqualTo(ids[1]), $"run {run}: two threads");
            Thread.Sleep(5);   // let the worker fall asleep: the next run wakes it
        }
    }

    [Test]
    public void AnErrorInAShard_IsRethrownAndTheWorkersStayUsable()
    {
        using var workers = new ShardWorkers(1);
        Assert.Throws<InvalidOperationException>(() => workers.Run(2, s => throw new InvalidOperationException($"shard {s}")));
        int ran = 0;
        workers.Run(2, _ => Interlocked.Increment(ref ran));
        Assert.That(ran, Is.EqualTo(2));
    }
}
