using BenchmarkDotNet.Attributes;
using Rnnx.Optimizers;
using Rnnx.Threading;

namespace Rnnx.Benchmarks.Optimizers;

/// <summary>
/// The serial part of a two-shard training step at the scalebench grid's LSTM sizes (U = 256: 792 K parameters, U =
/// 512: 3.16 M, cut as the model's: kernels, recurrent kernels and biases of two layers), on one thread: Nadam reading
/// the two shard gradients and summing them as it updates, after each shard's bound check (what training does
/// now) against the summed store written first, its finiteness checked, then the update (baseline: what it replaces).
/// Same bits. The ratio is the memory traffic saved; on two threads the update is also split between them.
/// <code>dotnet run -c Release --project Rnnx.Benchmarks -- --filter '*OptimizerStepBenchmarks*' --job short</code>
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class OptimizerStepBenchmarks
{
    /// <summary>LSTM units U of the two-layer grid model.</summary>
    [Params(256, 512)]
    public int Units { get; set; }

    private sealed class CallingThread : IParallelRunner
    {
        public void Run(int items, Action<int> item)
        {
            for (int i = 0; i < items; i++) item(i);
        }
    }

    private readonly CallingThread _runner = new();
    private Parameter[] _parameters = [];
    private Gradients[] _parts = [];
    private readonly Gradients _sum = new();
    private Nadam _fused = new(), _summed = new();

    [GlobalSetup]
    public void Setup()
    {
        int u = Units, g4 = 4 * u;
        int[][] shapes = [[1, g4], [u, g4], [g4], [u, g4], [u, g4], [g4], [u, 10], [10]];
        var rng = new System.Random(7);
        _parameters = [.. shapes.Select((s, i) => new Parameter($"p{i}", Tensor.Zeros(new Shape(s), DType.Float32)))];
        _parts = [new Gradients(), new Gradients()];
        foreach (var g in _parts)
            foreach (var p in _parameters)
            {
                var span = g.GetSpan<float>(p);
                for (int i = 0; i < span.Length; i++) span[i] = (float)(rng.NextDouble() * 2 - 1) * 1e-3f;
            }
        _fused = new Nadam();
        _summed = new Nadam();
    }

    [Benchmark(Baseline = true, Description = "sum into a store, check it, Nadam")]
    public void SumThenStep()
    {
        _sum.Clear();
        foreach (var g in _parts) _sum.Add(g, _parameters);
        if (!_sum.HasFiniteNorm(_parameters)) throw new InvalidOperationException("not finite");
        _summed.Step(_parameters, _sum);
    }

    [Benchmark(Description = "check each shard, Nadam summing as it reads")]
    public void FusedStep()
    {
        foreach (var g in _parts)
            if (!g.Float32SummableOver(_parameters, _parts.Length)) throw new InvalidOperationException("not bounded");
        _fused.Step(_parameters, _parts, _runner);
    }
}
