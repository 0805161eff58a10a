using BenchmarkDotNet.Attributes;
using Rnnx.Autodiff.Ops;

namespace Rnnx.Benchmarks.Kernels;

/// <summary>
/// One LSTM layer's training pass (forward and backward of <see cref="Tensor.LstmSequence"/>, float32, T = 50, as many
/// features as units: the scalebench grid's second layer on one shard) with the steps in row chunks — x_t·W, h·R and
/// the gate math per chunk, tanh(c) taken inside the backward step — against whole steps with x·W up front
/// (<see cref="LstmSequenceOp.StepsInChunks"/> off, the baseline). Same results.
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class LstmTrainingStepBenchmarks
{
    private const int Steps = 50;

    /// <summary>Units and rows (one shard of the grid's batch).</summary>
    [Params("U=64 B=16", "U=128 B=64")]
    public string Point { get; set; } = "U=64 B=16";

    private Tensor _x, _w, _r, _b, _h0, _c0, _outWeights;
    // One tape for every pass, reset after each: a fresh tape per pass would allocate its pools every time and the
    // timings would measure the garbage collector.
    private readonly Tape _tape = new();

    [GlobalSetup]
    public void Setup()
    {
        int units = Point.StartsWith("U=64", StringComparison.Ordinal) ? 64 : 128;
        int batch = Point.EndsWith("B=16", StringComparison.Ordinal) ? 16 : 64;
        var rng = new System.Random(42);
        Tensor R(params int[] shape)
        {
            var values = new float[shape.Aggregate(1, (p, d) => p * d)];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(rng.NextDouble() - 0.5) * 0.4f;
            return Tensor.FromArray(values, shape);
        }
        _x = R(batch, Steps, units);
        _w = R(units, 4 * units).RequireGrad();
        _r = R(units, 4 * units).RequireGrad();
        _b = R(4 * units).RequireGrad();
        _h0 = R(batch, units);
        _c0 = R(batch, units);
        _outWeights = R(batch, Steps, units);
    }

    [Benchmark(Baseline = true, Description = "whole steps, x·W up front")]
    public double WholeSteps()
    {
        LstmSequenceOp.StepsInChunks = false;
        try { return Pass(); }
        finally { LstmSequenceOp.StepsInChunks = true; }
    }

    [Benchmark(Description = "steps in row chunks")]
    public double RowChunks() => Pass();

    private double Pass()
    {
        double loss;
        using (_tape.Activate())
        {
            var r = Tensor.LstmSequence(_x, _w, _r, _b, _h0, _c0, new RecurrentSequenceOptions { ReturnSequences = true });
            var l = Tensor.Sum(r.Output * _outWeights);
            _tape.Backward(l);
            loss = l.Item();
        }
        _tape.Reset();
        return loss;
    }

    /// <summary>Gives back the tape's pools.</summary>
    [GlobalCleanup]
    public void Cleanup() => _tape.Dispose();
}
