using System.Diagnostics;
using Rnnx.Kernels;
using Rnnx.Tests.Kernels;

namespace Rnnx.Tests.Kernels.Parallel;

/// <summary>
/// Many short loops with changing part counts, on teams with more threads than cores so that serving threads are
/// often preempted between seeing a loop and claiming its parts: every part of every loop runs exactly once, and
/// only while its loop is posted.
/// </summary>
[TestFixture]
public class TeamBoardStressTests
{
    private static readonly int[] PartCounts = { 2, 9, 3, 16, 5, 12 };

    [TestCase(4)]
    [TestCase(8)]
    public void EveryPartOfEveryLoop_RunsExactlyOnce_WhilePosted(int size)
    {
        // Two jobs used alternately, so that a part of the previous loop run late is seen by its own job's counters.
        var jobs = new[] { new CountingJob(), new CountingJob() };
        var clock = Stopwatch.StartNew();
        long loops = 0;
        ParallelGemmTests.InTeam(size, size - 1, () =>
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(1.5) && loops < 400_000)
            {
                var job = jobs[loops & 1];
                int parts = PartCounts[loops % PartCounts.Length];
                job.Start(parts);
                TeamBoard.For(parts, job);
                job.Finish(loops);
                loops++;
            }
        });
        Assert.That(loops, Is.GreaterThan(1000), "enough loops ran to stress the board");
        foreach (var job in jobs) Assert.That(job.Failure, Is.Null);
    }

    private sealed class CountingJob : TeamJob
    {
        private readonly int[] _counts = new int[PartCounts.Max()];
        private int _parts, _running, _outside;

        public string? Failure { get; private set; }

        public void Start(int parts)
        {
            _parts = parts;
            Volatile.Write(ref _running, 1);
        }

        public void Finish(long loop)
        {
            Volatile.Write(ref _running, 0);
            for (int p = 0; p < _counts.Length; p++)
            {
                int expected = p < _parts ? 1 : 0;
                int count = Interlocked.Exchange(ref _counts[p], 0);
                if (count != expected && Failure is null) Failure = $"loop {loop} ({_parts} parts): part {p} ran {count} times";
            }
            if (Interlocked.Exchange(ref _outside, 0) != 0 && Failure is null) Failure = $"before loop {loop}: a part ran while its loop was not posted";
        }

        public override void Run(int part)
        {
            if (Volatile.Read(ref _running) == 0) Interlocked.Increment(ref _outside);
            Interlocked.Increment(ref _counts[part]);
            Thread.SpinWait(20);
            if (Volatile.Read(ref _running) == 0) Interlocked.Increment(ref _outside);
        }
    }
}
