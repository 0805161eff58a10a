using System.Collections.Concurrent;
using Rnnx.Data;
using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Metrics;
using Rnnx.Models;
using Rnnx.Optimizers;

namespace Rnnx.Tests.Models;

/// <summary>
/// Evaluate (and Fit's validation at each epoch end) runs its batches on the model's threads, each batch whole on one
/// thread, and adds the batches' terms in batch order: the same bits for every thread count as one thread running the
/// batches in order.
/// </summary>
public class ParallelEvaluationTests
{
    private static Tensor Uniform(int seed, params int[] shape)
    {
        var rng = new System.Random(seed);
        var v = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return Tensor.FromArray(v, shape);
    }

    /// <summary>An MSE metric that records which threads evaluated a batch of <paramref name="rows"/> rows.</summary>
    private static Metric ThreadRecordingMse(int rows, ConcurrentDictionary<int, int> threads) => Metric.FromFunction("mse", (t, p) =>
    {
        if (t.Shape[0] == rows) threads.AddOrUpdate(Environment.CurrentManagedThreadId, 1, (_, c) => c + 1);
        return Metric.MeanSquaredErrorValues(t, p);
    });

    private static Sequential Lstm(int threads, Metric metric)
    {
        var m = new Sequential([new LSTM(12, returnSequences: true, inputShape: [null, 2]), new TimeDistributed(new Dense(3))], "lstm", 7);
        m.Threads = threads;
        m.Compile(new Nadam(0.01), Loss.MeanSquaredError, metric);
        return m;
    }

    [Test]
    public void Evaluate_IsBitIdenticalFor1To16Threads_AndEqualsTheBatchesAddedInOrder()
    {
        // 70 samples in batches of 8: nine batches, the last of 6
        var x = Uniform(1, 70, 9, 2);
        var y = Uniform(2, 70, 9, 3);
        var seen = new ConcurrentDictionary<int, int>();
        var one = Lstm(1, ThreadRecordingMse(8, seen)).Evaluate(x, y, batchSize: 8);

        // The reference: each batch evaluated alone, its batch-mean terms weighted by its size and added in order.
        var reference = Lstm(1, Metric.MeanSquaredError);
        double loss = 0, mseSum = 0;
        for (int start = 0; start < 70; start += 8)
        {
            int count = Math.Min(8, 70 - start);
            var r = reference.Evaluate(Tensor.RowRange(x, start, count), Tensor.RowRange(y, start, count), batchSize: count);
            loss += r["loss"] * count;
            mseSum += r["mse"] * count;
        }
        Assert.That(one["loss"], Is.EqualTo(loss / 70), "loss against the batches added in order");
        Assert.That(one["mse"], Is.EqualTo(mseSum / 70).Within(1e-12), "metric against the batches (its sums are per value, not per batch mean)");

        for (int threads = 2; threads <= 16; threads++)
        {
            seen.Clear();
            var r = Lstm(threads, ThreadRecordingMse(8, seen)).Evaluate(x, y, batchSize: 8);
            Assert.That(r, Is.EqualTo(one), $"Threads {threads}");
            Assert.That(seen.Count, Is.EqualTo(Math.Min(threads, 8)), $"Threads {threads}: the eight full batches ran on that many threads");
        }
    }

    [Test]
    public void FitValidation_IsBitIdenticalAcrossThreadCounts_AndRunsOnEveryThread()
    {
        var x = Uniform(3, 48, 9, 2);
        var y = Uniform(4, 48, 9, 3);
        var vx = Uniform(5, 40, 9, 2);
        var vy = Uniform(6, 40, 9, 3);
        History Train(int threads, ConcurrentDictionary<int, int> seen)
        {
            // validation batches have 10 rows; training shards (two per batch of 10) have 5
            var m = Lstm(threads, ThreadRecordingMse(10, seen));
            return m.Fit(x, y, epochs: 2, batchSize: 10, validationData: (vx, vy), verbose: 0);
        }
        var one = Train(1, new ConcurrentDictionary<int, int>());
        foreach (int threads in new[] { 2, 3, 5 })
        {
            var seen = new ConcurrentDictionary<int, int>();
            var h = Train(threads, seen);
            foreach (var key in new[] { "loss", "mse", "val_loss", "val_mse" })
                Assert.That(h[key], Is.EqualTo(one[key]), $"Threads {threads}: {key}");
            // four validation batches per epoch, batch b on thread b mod min(threads, 4)
            Assert.That(seen.Count, Is.EqualTo(Math.Min(threads, 4)), $"Threads {threads}: validation threads");
        }
    }

    [Test]
    public void EvaluateOnWindows_IsBitIdenticalAcrossThreadCounts()
    {
        var rng = new System.Random(8);
        var series = new float[400];
        for (int i = 0; i < series.Length; i++) series[i] = (float)Math.Sin(i * 0.1) + (float)(rng.NextDouble() * 0.1);
        var windows = new SeriesWindows(series, window: 20, horizon: 1);
        Dictionary<string, double> Eval(int threads)
        {
            var m = new Sequential([new SimpleRNN(8, inputShape: [null, 1]), new Dense(1)], "rnn", 3);
            m.Threads = threads;
            m.Compile(new Nadam(0.01), Loss.MeanSquaredError, Metric.MeanAbsoluteError);
            return m.Evaluate(windows, batchSize: 16);
        }
        var one = Eval(1);
        foreach (int threads in new[] { 2, 4, 16 })
            Assert.That(Eval(threads), Is.EqualTo(one), $"Threads {threads}");
    }
}
