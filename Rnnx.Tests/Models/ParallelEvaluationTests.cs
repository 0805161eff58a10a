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

    /// <summary>
    /// An MSE metric whose first two calls on batches of a given row count wait for each other (up to 30 s): they meet
    /// only when two threads evaluate batches at the same time.
    /// </summary>
    private sealed class Rendezvous(int rows)
    {
        private readonly CountdownEvent _both = new(2);
        private int _arrived, _met;

        public int Met => Volatile.Read(ref _met);

        public Metric Mse => Metric.FromFunction("mse", (t, p) =>
        {
            if (t.Shape[0] == rows && Interlocked.Increment(ref _arrived) <= 2)
            {
                _both.Signal();
                if (_both.Wait(TimeSpan.FromSeconds(30))) Interlocked.Increment(ref _met);
            }
            return Metric.MeanSquaredErrorValues(t, p);
        });
    }

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
        var one = Lstm(1, Metric.MeanSquaredError).Evaluate(x, y, batchSize: 8);

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
            var meeting = new Rendezvous(8);
            var r = Lstm(threads, meeting.Mse).Evaluate(x, y, batchSize: 8);
            Assert.That(r, Is.EqualTo(one), $"Threads {threads}");
            Assert.That(meeting.Met, Is.EqualTo(2), $"Threads {threads}: two batches ran at the same time");
        }
    }

    [Test]
    public void FitValidation_IsBitIdenticalAcrossThreadCounts_AndRunsOnSeveralThreads()
    {
        var x = Uniform(3, 48, 9, 2);
        var y = Uniform(4, 48, 9, 3);
        var vx = Uniform(5, 40, 9, 2);
        var vy = Uniform(6, 40, 9, 3);
        History Train(int threads, Metric metric) =>
            Lstm(threads, metric).Fit(x, y, epochs: 2, batchSize: 10, validationData: (vx, vy), verbose: 0);
        var one = Train(1, Metric.MeanSquaredError);
        foreach (int threads in new[] { 2, 3, 5 })
        {
            // validation batches have 10 rows; training shards (two per batch of 10) have 5
            var meeting = new Rendezvous(10);
            var h = Train(threads, meeting.Mse);
            foreach (var key in new[] { "loss", "mse", "val_loss", "val_mse" })
                Assert.That(h[key], Is.EqualTo(one[key]), $"Threads {threads}: {key}");
            Assert.That(meeting.Met, Is.EqualTo(2), $"Threads {threads}: two validation batches ran at the same time");
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
