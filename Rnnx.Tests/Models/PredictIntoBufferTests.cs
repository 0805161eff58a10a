using Rnnx.Layers;
using Rnnx.Losses;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.Models;

/// <summary>Predict into a caller's buffer: the values of Predict, no allocation once warm, bad buffers refused untouched.</summary>
public class PredictIntoBufferTests
{
    private static Sequential Lstm2(int units) => new(
    [
        new LSTM(units, returnSequences: true, inputShape: [null, 1]),
        new LSTM(units, returnSequences: true),
        new TimeDistributed(new Dense(10)),
    ], "lstm2", 42);

    private static Tensor Uniform(int seed, params int[] shape)
    {
        var rng = new System.Random(seed);
        var v = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < v.Length; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return Tensor.FromArray(v, shape);
    }

    [Test]
    public void IntoTheInputsOwnArray_IsRefusedAndWritesNothing()
    {
        var m = new Sequential([new Dense(3, inputShape: [3])], "dense", 7);
        var values = new float[] { 0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f, -0.9f, 1.0f, 1.1f, -1.2f };
        var original = values.ToArray();
        var x = Tensor.Wrap(values, new Shape(4, 3));
        var refused = Assert.Throws<ArgumentException>(() => m.Predict(x, values, batchSize: 2));
        Assert.That(refused!.Message, Does.Contain("separate buffer"));
        Assert.That(values, Is.EqualTo(original), "the input is untouched");
        var output = new float[12];
        m.Predict(x, output, batchSize: 2);
        Assert.That(output, Is.EqualTo(m.Predict(x, batchSize: 2).ToFloatArray()), "a separate buffer is accepted");
    }

    [TestCase(1)]
    [TestCase(2)]
    public void IntoBuffer_EqualsPredict(int threads)
    {
        var m = Lstm2(24);
        m.Threads = threads;
        var x = Uniform(1, 70, 20, 1);
        var expected = m.Predict(x, batchSize: 32).ToFloatArray();
        var output = new float[70 * 20 * 10];
        m.Predict(x, output, batchSize: 32);
        Assert.That(output, Is.EqualTo(expected));
    }

    [Test]
    public void IntoBuffer_AllocatesNothingOnceWarm_256Series()
    {
        var m = Lstm2(20);
        m.Threads = 1;   // the measured thread runs every shard
        var x = Uniform(2, 256, 50, 1);
        var output = new float[256 * 50 * 10];
        long worst = SteadyStateAllocation.BytesPerRun(() => m.Predict(x, output, batchSize: 256), warmUps: 3, measured: 5).Max();
        Assert.That(worst, Is.Zero, "bytes per Predict into a buffer");
    }

    [Test]
    public void WrongBuffers_AreRefusedNamingTheSizes_AndLeftUntouched()
    {
        var m = Lstm2(8);
        var x = Uniform(3, 4, 6, 1);
        var shortBuffer = Enumerable.Repeat(7f, 4 * 6 * 10 - 1).ToArray();
        var e = Assert.Throws<ArgumentException>(() => m.Predict(x, shortBuffer));
        Assert.That(e!.Message, Does.Contain("lstm2").And.Contain("4 samples").And.Contain("240").And.Contain("239"));
        Assert.That(shortBuffer, Is.All.EqualTo(7f), "nothing written");
        Assert.Throws<ArgumentException>(() => m.Predict(x, new double[240]), "a float32 model refuses a double[] buffer");
        Assert.Throws<ArgumentNullException>(() => m.Predict(x, (float[])null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Predict(x, new float[240], batchSize: 0));
    }

    [Test]
    public void NonFiniteInput_ThatMakesANonFinitePrediction_IsReported()
    {
        var m = new Sequential([new Dense(2, inputShape: [3])], "dense", 1);
        var values = new float[] { 1, float.NaN, 0, 0, 0, 0 };
        var e = Assert.Throws<ArgumentException>(() => m.Predict(Tensor.FromArray(values, 2, 3), new float[4]));
        Assert.That(e!.Message, Does.Contain("NaN"));
    }
}

/// <summary>A training step allocates nothing once warm at a medium-grid size (scalebench's lstm2 and gru2 at U = 64, T = 50, B = 32).</summary>
public class TrainingStepAllocationTests
{
    [TestCase("lstm2")]
    [TestCase("gru2")]
    public void MediumGridStep_AllocatesNothing(string family)
    {
        Layer Rnn(bool first) => family == "lstm2"
            ? new LSTM(64, returnSequences: true, inputShape: first ? [null, 1] : null)
            : new GRU(64, returnSequences: true, inputShape: first ? [null, 1] : null);
        var m = new Sequential([Rnn(true), Rnn(false), new TimeDistributed(new Dense(10))], family, 42);
        m.Threads = 1;   // shards then run on the calling thread, the one whose allocations are counted
        m.Compile(new Nadam(), Loss.MeanSquaredError);
        var rng = new System.Random(1);
        var x = Tensor.FromArray(Enumerable.Range(0, 32 * 50).Select(_ => (float)rng.NextDouble()).ToArray(), 32, 50, 1);
        var y = Tensor.FromArray(Enumerable.Range(0, 32 * 50 * 10).Select(_ => (float)rng.NextDouble()).ToArray(), 32, 50, 10);
        long worst = SteadyStateAllocation.BytesPerRun(() => m.TrainOnBatch(x, y), warmUps: 3, measured: 5).Max();
        Assert.That(worst, Is.Zero, $"{family}: bytes per training step");
    }
}
