using System.Numerics;
using Rnnx.Kernels;
using Rnnx.Threading;
using static Rnnx.Tests.Kernels.KernelTestUtil;

namespace Rnnx.Tests.Kernels;

/// <summary>
/// Products split over a team (row or column blocks) give exactly the bits of the unsplit product, for every team
/// size and number of serving threads, on every SIMD path (.ci/run reruns this fixture with wide vectors disabled).
/// </summary>
[TestFixture]
public class ParallelGemmTests
{
    /// <summary>Runs <paramref name="action"/> as the owner of a team of <paramref name="size"/>, served by <paramref name="helpers"/> threads.</summary>
    internal static void InTeam(int size, int helpers, Action action)
    {
        var team = new OpTeam();
        team.Open(size);
        var threads = Enumerable.Range(0, helpers).Select(_ => new Thread(team.Serve) { IsBackground = true }).ToArray();
        foreach (var t in threads) t.Start();
        using (team.Enter()) action();
        foreach (var t in threads) Assert.That(t.Join(TimeSpan.FromSeconds(30)), Is.True, "a serving thread returns when the owner's scope ends");
    }

    private static T[] Product<T>(bool transA, bool transB, int m, int n, int k, T[] a, T[] b, T[] c0, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var c = (T[])c0.Clone();
        MatMulKernels.Gemm(transA, transB, m, n, k, a, transA ? m : k, b, transB ? k : n, c, n, accumulate);
        return c;
    }

    private static void Check<T>(int m, int n, int k) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new System.Random(m * 7919 + n * 31 + k);
        foreach (bool transA in new[] { false, true })
        foreach (bool transB in new[] { false, true })
        foreach (bool accumulate in new[] { false, true })
        {
            T[] a = Random<T>(rng, m * k), b = Random<T>(rng, k * n), c0 = Random<T>(rng, m * n);
            var alone = Product(transA, transB, m, n, k, a, b, c0, accumulate);
            foreach (var (size, helpers) in new[] { (2, 1), (3, 2), (5, 1), (16, 3), (16, 0) })
            {
                T[] split = [];
                InTeam(size, helpers, () => split = Product(transA, transB, m, n, k, a, b, c0, accumulate));
                Assert.That(split, Is.EqualTo(alone), $"{typeof(T).Name} m={m} n={n} k={k} tA={transA} tB={transB} acc={accumulate} team {size} with {helpers} helpers");
            }
        }
    }

    [TestCase(1, 1000, 300)]    // one row: the matrix-vector kernel in column blocks
    [TestCase(1, 4 * 257, 257)] // odd width: the last block ends in the overlapped tail vector
    [TestCase(16, 1024, 256)]   // a batch's recurrent step: column blocks
    [TestCase(203, 77, 300)]    // tall and narrow, odd sizes: row blocks, k split into blocks of 256
    [TestCase(40, 130, 600)]    // column blocks of 64 with a 2-wide remainder merged into the last block
    [TestCase(300, 1, 512)]     // one column: the dot-product kernel in row blocks
    public void SplitProduct_IsBitIdenticalToUnsplit(int m, int n, int k)
    {
        Check<float>(m, n, k);
        Check<double>(m, n, k);
    }

    [TestCase(Conv1DPadding.Causal, 2, 1)]
    [TestCase(Conv1DPadding.Valid, 3, 2)]
    [TestCase(Conv1DPadding.Same, 2, 1)]
    public void SplitConvolution_IsBitIdenticalToUnsplit(Conv1DPadding padding, int kernel, int stride)
    {
        // the batch is folded into M as groups: split between whole series
        const int batch = 6, length = 40, cin = 24, cout = 80;
        var g = Conv1DGeometry.Create(length, kernel, stride, 2, padding);
        var rng = new System.Random(kernel * 10 + stride);
        var x = Random<float>(rng, batch * length * cin);
        var w = Random<float>(rng, kernel * cin * cout);
        var dy = Random<float>(rng, batch * g.OutputLength * cout);
        (float[] Y, float[] Dx, float[] Dw) Run()
        {
            var y = new float[batch * g.OutputLength * cout];
            var dx = new float[x.Length];
            var dw = new float[w.Length];
            Conv1DKernels.Forward<float>(x, w, y, batch, cin, cout, g);
            Conv1DKernels.BackwardInput<float>(dy, w, dx, batch, cin, cout, g);
            Conv1DKernels.BackwardWeight<float>(x, dy, dw, batch, cin, cout, g);
            return (y, dx, dw);
        }
        var alone = Run();
        foreach (var (size, helpers) in new[] { (2, 1), (4, 3), (16, 1) })
        {
            (float[] Y, float[] Dx, float[] Dw) split = default;
            long splits = TeamBoard.SplitLoops;
            InTeam(size, helpers, () => split = Run());
            Assert.That(TeamBoard.SplitLoops, Is.GreaterThan(splits), "the convolution's products were split");
            Assert.That(split.Y, Is.EqualTo(alone.Y), $"forward, team {size}");
            Assert.That(split.Dx, Is.EqualTo(alone.Dx), $"backward input, team {size}");
            Assert.That(split.Dw, Is.EqualTo(alone.Dw), $"backward weight, team {size}");
        }
    }

    [Test]
    public void Blocks_CoverTheRangeWithStepAlignedBoundaries()
    {
        foreach (int n in new[] { 64, 65, 127, 128, 130, 1000, 1025 })
            for (int parts = 1; parts <= n / 64; parts++)
            {
                int next = 0;
                for (int p = 0; p < parts; p++)
                {
                    var (start, end) = ParallelGemm.Block(n, parts, p, 64);
                    Assert.That(start, Is.EqualTo(next), $"n={n} parts={parts} block {p} starts where the previous ended");
                    Assert.That(end - start, Is.GreaterThanOrEqualTo(64), $"n={n} parts={parts} block {p} keeps at least one step");
                    if (p < parts - 1) Assert.That(end % 64, Is.Zero);
                    next = end;
                }
                Assert.That(next, Is.EqualTo(n));
            }
    }

    [Test]
    public void AnErrorInAPart_IsRethrownOnTheOwner_AndTheTeamStillWorks()
    {
        var job = new FailingJob();
        InTeam(4, 2, () =>
        {
            Assert.Throws<InvalidOperationException>(() => TeamBoard.For(8, job));
            var a = Random<float>(new System.Random(1), 64 * 512);
            var b = Random<float>(new System.Random(2), 512 * 256);
            var c = new float[64 * 256];
            var alone = new float[64 * 256];
            MatMulKernels.Gemm(false, false, 64, 256, 512, a, 512, b, 256, c, 256, false);
            TeamBoard.Current!.Close();
            MatMulKernels.Gemm(false, false, 64, 256, 512, a, 512, b, 256, alone, 256, false);
            Assert.That(c, Is.EqualTo(alone));
        });
    }

    private sealed class FailingJob : TeamJob
    {
        public override void Run(int part)
        {
            if (part == 5) throw new InvalidOperationException("part 5 failed");
        }
    }
}
