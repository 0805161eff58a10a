namespace Rnnx.Tests.Models;

/// <summary>Predict splits large batches over the threads; each row's result must not depend on that.</summary>
public class ParallelPredictTests
{
    [TestCase("lstm")]
    [TestCase("wavenet")]
    [TestCase("ln_rnn")]
    public void Predict_TwoThreadsEqualsOneThread(string name)
    {
        Rnnx.Models.Sequential Make() => name switch { "lstm" => ChapterModels.Lstm(), "wavenet" => ChapterModels.WaveNet(), _ => ChapterModels.LnRnn() };
        var r = new System.Random(3);
        var xs = new float[100 * 60];
        for (int i = 0; i < xs.Length; i++) xs[i] = (float)(r.NextDouble() - 0.5);
        var x = Tensor.FromArray(xs, 100, 60, 1);
        var a = Make();
        var b = Make();
        a.Threads = 1;
        b.Threads = 2;
        var pa = a.Predict(x, batchSize: 100).ToFloatArray();
        var pb = b.Predict(x, batchSize: 100).ToFloatArray();
        var pc = b.Predict(x, batchSize: 7).ToFloatArray();
        // Rows are computed independently; only GEMM blocking over a different row count may change the last bits.
        Assert.That(pb, Is.EqualTo(pa).Within(1e-6f));
        Assert.That(pc, Is.EqualTo(pa).Within(1e-6f));
    }
}

/// <summary>Predictions do not depend on how the samples are chunked; a one-filter Conv1D head is the case where the batched kernel plan groups rows differently from a single sample.</summary>
public class PredictChunkingTests
{
    [TestCase(1)]
    [TestCase(10)]
    public void OneFilterConvHead_SameResultsWhateverTheChunks(int filters)
    {
        var m = new Rnnx.Models.Sequential([new Rnnx.Layers.InputLayer([null, 1]),
            new Rnnx.Layers.Conv1D(20, 2, padding: "causal", activation: "relu"), new Rnnx.Layers.Conv1D(filters, 2, padding: "causal")], "c", 1);
        m.Build();
        var r = new System.Random(1);
        var xs = new float[11 * 30];
        for (int i = 0; i < xs.Length; i++) xs[i] = (float)(r.NextDouble() - 0.5);
        var x = Tensor.FromArray(xs, 11, 30, 1);
        float[] whole = m.Predict(x, batchSize: 11).ToFloatArray();
        foreach (int bs in new[] { 1, 2, 3, 8 })
            Assert.That(m.Predict(x, batchSize: bs).ToFloatArray(), Is.EqualTo(whole), $"batchSize {bs}");
    }
}

/// <summary>Predict reports a non-finite input that makes a prediction non-finite, naming the sample.</summary>
public class PredictNonFiniteTests
{
    private static Rnnx.Models.Sequential Linear()
    {
        var m = new Rnnx.Models.Sequential([new Rnnx.Layers.Flatten(inputShape: [50, 1]), new Rnnx.Layers.Dense(1)], "linear", 1);
        m.Build();
        return m;
    }

    [Test]
    public void NaNOrInfinityReachingThePrediction_NamesTheSample()
    {
        var model = Linear();
        var xs = new float[40 * 50];
        xs[7 * 50 + 3] = float.NaN;
        var ex = Assert.Throws<ArgumentException>(() => model.Predict(Tensor.FromArray(xs, 40, 50, 1)))!;
        Assert.That(ex.Message, Does.Contain("inputs").And.Contain("NaN").And.Contain("sample 7"));
        xs[7 * 50 + 3] = 0;
        xs[31 * 50] = float.PositiveInfinity;
        ex = Assert.Throws<ArgumentException>(() => model.Predict(Tensor.FromArray(xs, 40, 50, 1)))!;
        Assert.That(ex.Message, Does.Contain("sample 31").And.Contain("finite"));
    }

    [Test]
    public void InfinityThatSaturatesToAFinitePrediction_IsAccepted_AsInKeras()
    {
        // tanh(+inf) = 1: the recurrent state is finite, so is the prediction
        var model = new Rnnx.Models.Sequential([new Rnnx.Layers.SimpleRNN(3, inputShape: [null, 1]), new Rnnx.Layers.Dense(1)], "rnn", 1);
        var xs = new float[4 * 10];
        xs[2 * 10 + 9] = float.PositiveInfinity;
        model.Build();
        // whatever the sign of the (non-zero) input weights, tanh(±inf) = ±1
        float[] p = model.Predict(Tensor.FromArray(xs, 4, 10, 1)).ToFloatArray();
        Assert.That(p.All(float.IsFinite), Is.True);
    }
}

/// <summary>Predict(float[], shape): the caller's array is only read, and every call returns its own array.</summary>
public class PredictFloatArrayTests
{
    [Test]
    public void InputUntouched_ResultsIndependent_BadLengthNamed()
    {
        var model = new Rnnx.Models.Sequential([new Rnnx.Layers.LSTM(4, inputShape: [null, 1]), new Rnnx.Layers.Dense(2)], "m", 3);
        model.Build();
        float[] x = Enumerable.Range(0, 10).Select(i => MathF.Sin(i)).ToArray();
        float[] copy = (float[])x.Clone();
        float[] first = model.Predict(x, 1, 10, 1);
        float[] firstCopy = (float[])first.Clone();
        float[] second = model.Predict(x.Select(v => -v).ToArray(), 1, 10, 1);
        Assert.That(x, Is.EqualTo(copy), "input not written");
        Assert.That(first, Is.EqualTo(firstCopy), "an earlier result is not overwritten by a later call");
        Assert.That(second, Is.Not.SameAs(first));
        Assert.That(model.Predict(x, 1, 10, 1), Is.EqualTo(first), "same input, same output");
        var ex = Assert.Throws<ShapeMismatchException>(() => model.Predict(x, 1, 9, 1))!;
        Assert.That(ex.Message, Does.Contain("10 input values").And.Contain("(1, 9, 1)"));
    }
}
