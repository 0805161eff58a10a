using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimization;
using Rnnx.Optimizers;
using Rnnx.Threading;

namespace Rnnx.Tests.Models;

/// <summary>
/// Training with an optimizer that sums the shard gradients itself, on the shard threads
/// (<see cref="IParallelOptimizer"/>), gives the bits of the summed-store path, which an optimizer without that
/// interface takes.
/// </summary>
public class ParallelOptimizerStepTests
{
    /// <summary>The same optimizer seen only as an <see cref="IOptimizer"/>: the model sums the shards into one store first.</summary>
    private sealed class SummedStoreOnly(Optimizer inner) : IOptimizer
    {
        public double LearningRate { get => inner.LearningRate; set => inner.LearningRate = value; }

        public long Iterations => inner.Iterations;

        public void Step(IReadOnlyList<Parameter> parameters, Gradients gradients) => inner.Step(parameters, gradients);
    }

    /// <summary>The same optimizer, counting the updates the model hands it as shard parts.</summary>
    private sealed class CountingParallel(Optimizer inner) : IParallelOptimizer
    {
        public int PartsSteps { get; private set; }

        public double LearningRate { get => inner.LearningRate; set => inner.LearningRate = value; }

        public long Iterations => inner.Iterations;

        public void Step(IReadOnlyList<Parameter> parameters, Gradients gradients) => inner.Step(parameters, gradients);

        public void Step(IReadOnlyList<Parameter> parameters, ReadOnlySpan<Gradients> parts, IParallelRunner runner)
        {
            PartsSteps++;
            inner.Step(parameters, parts, runner);
        }
    }

    private static Tensor Uniform(int seed, params int[] shape)
    {
        var rng = new System.Random(seed);
        var v = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return Tensor.FromArray(v, shape);
    }

    private static float[][] Trained(Func<Optimizer> create, bool parallel, int threads, int shards)
    {
        // 66 K parameters: above the size below which the optimizer stays on one thread
        var m = new Sequential([new LSTM(128, inputShape: [null, 1]), new Dense(2)], "m", seed: 3);
        m.Threads = threads;
        m.Shards = shards;
        var o = create();
        var counting = new CountingParallel(o);
        m.Compile(parallel ? counting : new SummedStoreOnly(o), Loss.MeanSquaredError);
        var x = Uniform(1, 7, 6, 1);
        var y = Uniform(2, 7, 2);
        for (int i = 0; i < 3; i++) m.TrainOnBatch(x, y);
        if (parallel) Assert.That(counting.PartsSteps, Is.EqualTo(3), "every step went through the shard parts");
        return [.. m.Weights.Select(p => p.Value.ToFloatArray())];
    }

    [TestCase(1, 3)]
    [TestCase(2, 2)]
    [TestCase(2, 3)]
    [TestCase(3, 1)]
    public void ShardsSummedInTheUpdate_EqualTheSummedStore(int threads, int shards)
    {
        foreach (var create in new Func<Optimizer>[] { () => new Nadam(0.01), () => new RmsProp(0.01, momentum: 0.5), () => new Adam(0.01) { GlobalClipNorm = 0.1 } })
        {
            var expected = Trained(create, parallel: false, threads, shards);
            var actual = Trained(create, parallel: true, threads, shards);
            for (int i = 0; i < expected.Length; i++)
                Assert.That(Array.ConvertAll(actual[i], BitConverter.SingleToInt32Bits),
                    Is.EqualTo(Array.ConvertAll(expected[i], BitConverter.SingleToInt32Bits)), $"{create().GetType().Name}, weight {i}, bit for bit");
        }
    }
}
