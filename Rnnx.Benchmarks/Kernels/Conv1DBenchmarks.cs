using BenchmarkDotNet.Attributes;
using Rnnx.Kernels;
using Rnnx.Kernels.Reference;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>A causal conv1d problem at batch 32, length 50, 20 filters (a TCN layer).</summary>
public sealed class ConvCase(int cin, int kernelSize, int dilation, int stride) : IFlopCount
{
    public const int Batch = 32, Length = 50, Cout = 20;
    public int Cin { get; } = cin;
    public Conv1DGeometry Geometry { get; } = Conv1DGeometry.Create(Length, kernelSize, stride, dilation, Conv1DPadding.Causal);

    /// <summary>Multiply-adds of the dense formulation (padding taps included), x2.</summary>
    public double Flops => 2.0 * Batch * Geometry.OutputLength * Cout * Cin * Geometry.KernelSize;

    public override string ToString() =>
        $"cin={Cin} k={Geometry.KernelSize} d={Geometry.Dilation} s={Geometry.Stride}";

    public static IEnumerable<ConvCase> All()
    {
        foreach (int cin in new[] { 1, 20 })
        foreach (int k in new[] { 2, 4 })
        foreach (int d in new[] { 1, 2, 4, 8 })
        foreach (int s in new[] { 1, 2 })
            yield return new ConvCase(cin, k, d, s);
    }
}

public abstract class Conv1DBenchmarkBase
{
    public static IEnumerable<ConvCase> Cases => ConvCase.All();

    [ParamsSource(nameof(Cases))]
    public ConvCase Case { get; set; } = null!;

    protected float[] X = [], W = [], Y = [], DX = [], DW = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new System.Random(1);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var g = Case.Geometry;
        X = R(ConvCase.Batch * g.InputLength * Case.Cin);
        W = R(g.KernelSize * Case.Cin * ConvCase.Cout);
        Y = R(ConvCase.Batch * g.OutputLength * ConvCase.Cout);
        DX = new float[X.Length];
        DW = new float[W.Length];
    }
}

[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(GflopsConfig))]
public class Conv1DForwardBenchmarks : Conv1DBenchmarkBase
{
    [Benchmark(Baseline = true, Description = "Scalar reference")]
    public void Reference() => ReferenceConv1D.Forward<float>(X, W, Y, ConvCase.Batch, Case.Cin, ConvCase.Cout, Case.Geometry);

    [Benchmark(Description = "Conv1DKernels.Forward")]
    public void Simd() => Conv1DKernels.Forward<float>(X, W, Y, ConvCase.Batch, Case.Cin, ConvCase.Cout, Case.Geometry);
}

[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(GflopsConfig))]
public class Conv1DBackwardInputBenchmarks : Conv1DBenchmarkBase
{
    // Both accumulate into DX; its values drift but the work per call is identical.
    [Benchmark(Baseline = true, Description = "Scalar reference")]
    public void Reference() => ReferenceConv1D.BackwardInput<float>(Y, W, DX, ConvCase.Batch, Case.Cin, ConvCase.Cout, Case.Geometry);

    [Benchmark(Description = "Conv1DKernels.BackwardInput")]
    public void Simd() => Conv1DKernels.BackwardInput<float>(Y, W, DX, ConvCase.Batch, Case.Cin, ConvCase.Cout, Case.Geometry);
}

[MemoryDiagnoser]
[MedianColumn]
[Config(typeof(GflopsConfig))]
public class Conv1DBackwardWeightBenchmarks : Conv1DBenchmarkBase
{
    [Benchmark(Baseline = true, Description = "Scalar reference")]
    public void Reference() => ReferenceConv1D.BackwardWeight<float>(X, Y, DW, ConvCase.Batch, Case.Cin, ConvCase.Cout, Case.Geometry);

    [Benchmark(Description = "Conv1DKernels.BackwardWeight")]
    public void Simd() => Conv1DKernels.BackwardWeight<float>(X, Y, DW, ConvCase.Batch, Case.Cin, ConvCase.Cout, Case.Geometry);
}
