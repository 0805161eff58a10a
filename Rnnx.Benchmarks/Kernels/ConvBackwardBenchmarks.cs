using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// The backward pass of one WaveNet layer (causal Conv1D(U, kernel 2, relu), dilation 4, 8 series of 1000 steps, cin =
/// cout = U: past L2, so one batch item per block): the passes one after another over the whole output gradient
/// (relu derivative, bias row sums, input gradient, weight gradient; the baseline) against the derivative and the bias
/// sums made block by block inside <see cref="Conv1DKernels.Backward{T, TPrologue}"/>, each block's gradients computed
/// while its rows are in cache. The same bits (tests: BlockedConvBackwardTests).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class ConvBackwardBenchmarks
{
    private const int Batch = 8, Length = 1000, Dilation = 4, Kernel = 2;

    [Params(64, 128)]
    public int Units { get; set; }

    private float[] _x = [], _w = [], _g = [], _y = [], _dz = [], _dx = [], _dw = [], _db = [], _sums = [];
    private Conv1DGeometry _geo;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new System.Random(1);
        int u = Units;
        _geo = Conv1DGeometry.Create(Length, Kernel, 1, Dilation, Conv1DPadding.Causal);
        _x = PinnedRandom.Floats(rng, Batch * Length * u);
        _w = PinnedRandom.Floats(rng, Kernel * u * u);
        _g = PinnedRandom.Floats(rng, Batch * Length * u);
        _y = PinnedRandom.Floats(rng, Batch * Length * u);
        _dz = new float[_g.Length];
        _dx = new float[_x.Length];
        _dw = new float[_w.Length];
        _db = new float[u];
        _sums = new float[2 * u];
    }

    [Benchmark(Baseline = true, Description = "Separate passes")]
    public void Separate()
    {
        int u = Units;
        Elementwise.ReluBackward<float>(_dz, _g, _y);
        ReductionKernels.SumRows<float>(_dz, _db, Batch * Length, u, accumulate: true);
        Conv1DKernels.BackwardInput<float>(_dz, _w, _dx, Batch, u, u, _geo, overwrite: true);
        Conv1DKernels.BackwardWeight<float>(_x, _dz, _dw, Batch, u, u, _geo);
    }

    [Benchmark(Description = "Blocked (Conv1DKernels.Backward)")]
    public void Blocked()
    {
        int u = Units;
        Array.Clear(_sums);
        var prologue = new ReluRows(_dz, _g, _y, u, _sums);
        Conv1DKernels.Backward<float, ReluRows>(_x, _dz, _w, _dx, true, true, _dw, true, Batch, u, u, _geo, ref prologue);
        ActivationGradientKernels.AddColumnSums<float>(_sums.AsSpan(0, u), _sums.AsSpan(u), _db);
    }

    /// <summary>The relu derivative and the bias sums on the rows asked for.</summary>
    private readonly struct ReluRows(float[] dz, float[] g, float[] y, int cols, float[] sums) : IRowsPrologue
    {
        public void Prepare(int firstRow, int count)
        {
            int o = firstRow * cols, n = count * cols;
            ActivationGradientKernels.RowsWithColumnSums<float, Elementwise.ReluGrad<float>>(dz.AsSpan(o, n), g.AsSpan(o, n), y.AsSpan(o, n),
                firstRow, count, cols, sums.AsSpan(0, cols), sums.AsSpan(cols));
        }
    }
}
