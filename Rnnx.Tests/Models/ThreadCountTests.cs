using Rnnx.Kernels;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Tests.Models;

/// <summary>
/// Threads is honoured beyond Shards (the threads without a shard split the shards' large products) and never changes
/// the bits: training and prediction give identical results for 1..16 threads (on any machine, however many cores).
/// </summary>
public class ThreadCountTests
{
    private static Sequential Lstm2(int units, int features, int seed = 5) => new(
    [
        new LSTM(units, returnSequences: true, inputShape: [null, features]),
        new LSTM(units, returnSequences: true),
        new TimeDistributed(new Dense(3)),
    ], "lstm2", seed);

    private static Tensor Uniform(int seed, params int[] shape)
    {
        var rng = new System.Random(seed);
        var v = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return Tensor.FromArray(v, shape);
    }

    private static float[][] TrainedWeights(int threads, int shards, Tensor x, Tensor y)
    {
        var m = Lstm2(96, 2);
        m.Threads = threads;
        m.Shards = shards;
        m.Compile(new Nadam(0.01), Loss.MeanSquaredError);
        for (int i = 0; i < 3; i++) m.TrainOnBatch(x, y);
        return m.Weights.Select(p => p.Value.ToFloatArray()).ToArray();
    }

    [TestCase(2)]
    [TestCase(1)]
    public void Training_IsBitIdenticalFor1To16Threads(int shards)
    {
        // batch 16: each shard's recurrent step is an (8 or 16) x 384 x 96 product, large enough to be split by columns
        var x = Uniform(1, 16, 12, 2);
        var y = Uniform(2, 16, 12, 3);
        var one = TrainedWeights(1, shards, x, y);
        for (int threads = 2; threads <= 16; threads++)
        {
            long splits = TeamBoard.SplitLoops;
            var w = TrainedWeights(threads, shards, x, y);
            if (threads > shards) Assert.That(TeamBoard.SplitLoops, Is.GreaterThan(splits), $"Threads {threads} > Shards {shards}: products were split");
            for (int i = 0; i < one.Length; i++)
                Assert.That(w[i], Is.EqualTo(one[i]), $"Shards {shards}, Threads {threads}: weight {i} differs from 1 thread");
        }
    }

    [Test]
    public void WaveNetTraining_IsBitIdenticalFor1To16Threads()
    {
        Sequential Make()
        {
            var layers = new List<Layer> { new InputLayer([null, 1]) };
            foreach (int rate in new[] { 1, 2, 4, 8 })
                layers.Add(new Conv1D(filters: 64, kernelSize: 2, padding: "causal", activation: Activation.Relu, dilationRate: rate));
            layers.Add(new Conv1D(filters: 3, kernelSize: 1));
            return new Sequential(layers, "wavenet", 4);
        }
        var x = Uniform(5, 16, 60, 1);
        var y = Uniform(6, 16, 60, 3);
        float[][] Train(int threads)
        {
            var m = Make();
            m.Threads = threads;
            m.Compile(new Nadam(0.01), Loss.MeanSquaredError);
            for (int i = 0; i < 2; i++) m.TrainOnBatch(x, y);
            return m.Weights.Select(p => p.Value.ToFloatArray()).ToArray();
        }
        var one = Train(1);
        foreach (int threads in new[] { 2, 3, 5, 16 })
        {
            long splits = TeamBoard.SplitLoops;
            var w = Train(threads);
            if (threads > 2) Assert.That(TeamBoard.SplitLoops, Is.GreaterThan(splits), $"Threads {threads}: the convolutions were split");
            for (int i = 0; i < one.Length; i++) Assert.That(w[i], Is.EqualTo(one[i]), $"Threads {threads}: weight {i}");
        }
    }

    [Test]
    public void PredictOneSeriesOfABigLstm_IsBitIdenticalFor1To16Threads()
    {
        // LSTM(256): one series' steps are split by units over the threads (4 x 256 x 256 multiply-adds per step)
        var m = Lstm2(256, 1, seed: 9);
        m.Build();
        var x = Uniform(3, 1, 40, 1);
        var batch = Uniform(4, 5, 40, 1);
        m.Threads = 1;
        var one = m.Predict(x).ToFloatArray();
        var oneBatch = m.Predict(batch, batchSize: 5).ToFloatArray();
        // the series alone (R packed for its matrix-vector steps) gets the numbers of its row in a batch
        var withX = Tensor.FromArray([.. x.ToFloatArray(), .. batch.ToFloatArray()], 6, 40, 1);
        for (int threads = 1; threads <= 2; threads++)
        {
            m.Threads = threads;
            Assert.That(m.Predict(withX, batchSize: 6).ToFloatArray().AsSpan(0, one.Length).ToArray(), Is.EqualTo(one), $"row 0 of a batch, Threads {threads}");
        }
        for (int threads = 2; threads <= 16; threads++)
        {
            m.Threads = threads;
            long splits = TeamBoard.SplitLoops;
            Assert.That(m.Predict(x).ToFloatArray(), Is.EqualTo(one), $"one series, Threads {threads}");
            Assert.That(TeamBoard.SplitLoops, Is.GreaterThanOrEqualTo(splits + 40), $"Threads {threads}: each of the 40 steps split");
            Assert.That(m.Predict(batch, batchSize: 5).ToFloatArray(), Is.EqualTo(oneBatch), $"5 series, Threads {threads}");
        }
    }

    [Test]
    public void PredictManySeriesOfAnLstm_IsBitIdenticalFor1To4Threads()
    {
        // 300 series: Predict gives each thread a shard of at least 75 series, which run time-major, at 128 units in
        // row chunks (LstmBatchInference)
        var m = Lstm2(128, 2, seed: 11);
        m.Build();
        var x = Uniform(7, 300, 6, 2);
        m.Threads = 1;
        var one = m.Predict(x, batchSize: 300).ToFloatArray();
        for (int threads = 2; threads <= 4; threads++)
        {
            m.Threads = threads;
            Assert.That(m.Predict(x, batchSize: 300).ToFloatArray(), Is.EqualTo(one), $"Threads {threads}");
        }
    }
}
