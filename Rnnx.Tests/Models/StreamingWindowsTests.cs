using Rnnx.Data;
using Rnnx.Forecasting;
using Rnnx.Models;
using Rnnx.Optimizers;
using Rnnx.Random;

namespace Rnnx.Tests.Models;

/// <summary>
/// Training, evaluating and predicting on windows cut from a series on the fly give the same bits as on the
/// materialized windows, without materializing them.
/// </summary>
public sealed class StreamingWindowsTests
{
    private static float[] Series(int n, uint seed)
    {
        var rng = new NumPyRandomState(seed);
        var s = new float[n];
        double level = 100;
        for (int i = 0; i < n; i++)
        {
            level += 0.05 + 0.3 * rng.StandardNormal();
            s[i] = (float)(level + 5 * Math.Sin(2 * Math.PI * i / 12));
        }
        return s;
    }

    private static float[] WeightBits(Sequential m) => m.Weights.SelectMany(p => p.Value.ToFloatArray()).ToArray();

    private static Sequential Model(string arch, int window, int horizon)
    {
        var m = ForecastModels.Create(arch, window, horizon, seed: 7);
        m.Compile(new Nadam(0.003), Losses.Loss.MeanSquaredError);
        return m;
    }

    [TestCase("gru", SeriesScaling.LastValue)]
    [TestCase("conv_rnn", SeriesScaling.Difference)]
    [TestCase("linear", SeriesScaling.Standard)]
    public void FitOnWindowsEqualsFitOnMaterializedWindowsBitForBit(string arch, SeriesScaling scaling)
    {
        var series = Series(400, 3);
        var scaler = SeriesScaler.Fit(scaling, series.AsSpan(0, 300));
        var train = new SeriesWindows(series, 16, 3, scaler, targetsTo: 300);
        var valid = new SeriesWindows(series, 16, 3, scaler, targetsFrom: 300);
        var (t, v) = (train.Materialize(), valid.Materialize());

        var a = Model(arch, 16, 3);
        var ha = a.Fit(Tensor.FromArray(t.X, t.XShape), Tensor.FromArray(t.Y, t.YShape), epochs: 3, batchSize: 32,
            validationData: (Tensor.FromArray(v.X, v.XShape), Tensor.FromArray(v.Y, v.YShape)), verbose: 0);
        var b = Model(arch, 16, 3);
        var hb = b.Fit(train, epochs: 3, batchSize: 32, validationData: valid, verbose: 0);

        Assert.That(hb["loss"], Is.EqualTo(ha["loss"]), "same batches, same losses");
        Assert.That(hb["val_loss"], Is.EqualTo(ha["val_loss"]));
        Assert.That(WeightBits(b), Is.EqualTo(WeightBits(a)), "same weights, bit for bit");
        Assert.That(b.Evaluate(valid)["loss"], Is.EqualTo(a.Evaluate(Tensor.FromArray(v.X, v.XShape), Tensor.FromArray(v.Y, v.YShape))["loss"]));
        Assert.That(b.Predict(valid).ToFloatArray(), Is.EqualTo(a.Predict(Tensor.FromArray(v.X, v.XShape)).ToFloatArray()));
    }

    [Test]
    public void WindowsAreNotMaterialized()
    {
        // 200,000 windows of 100 values: materialized, the inputs alone would take 80 MB.
        const int n = 200_100, window = 100;
        var series = Series(n, 5);
        var windows = new SeriesWindows(series, window, 1, SeriesScaler.Fit(SeriesScaling.LastValue, series));
        var m = Model("linear", window, 1);
        m.Fit(new SeriesWindows(series, window, 1, windows.Scaler, targetsTo: 2_000), epochs: 1, batchSize: 256, verbose: 0);   // warm up
        long materialized = (long)windows.Count * window * sizeof(float);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var h = m.Fit(windows, epochs: 1, batchSize: 256, verbose: 0);
        long fit = GC.GetTotalAllocatedBytes(precise: true) - before;
        before = GC.GetTotalAllocatedBytes(precise: true);
        double loss = m.Evaluate(windows, batchSize: 1024)["loss"];
        long evaluate = GC.GetTotalAllocatedBytes(precise: true) - before;
        TestContext.Out.WriteLine($"materialized inputs {materialized:N0} B; Fit allocated {fit:N0} B, Evaluate {evaluate:N0} B");
        Assert.That(double.IsFinite(h["loss"][0]) && double.IsFinite(loss));
        Assert.That(fit, Is.LessThan(materialized / 20), "Fit allocates far less than the windows would take");
        Assert.That(evaluate, Is.LessThan(materialized / 20), "Evaluate allocates far less than the windows would take");
    }

    [Test]
    public void WindowsMatchWindowingMake()
    {
        var s = Enumerable.Range(0, 30).Select(i => (float)i).ToArray();
        var a = Windowing.Make(s, 5, 2, stride: 3);
        var b = new SeriesWindows(s, 5, 2, stride: 3).Materialize();
        Assert.That((b.X, b.Y, b.XShape, b.YShape), Is.EqualTo((a.X, a.Y, a.XShape, a.YShape)));
        var d = new SeriesWindows(s, 5, 2, new SeriesScaler(SeriesScaling.Difference, 0, 1));
        Assert.That(d.FirstTarget, Is.EqualTo(6), "differencing needs one value before the window");
        Assert.That(d.Count, Is.EqualTo(30 - 5 - 2 - 1 + 1));
    }

    [Test]
    public void BadWindowsAreRefusedWithNamedArguments()
    {
        var s = new float[20];
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new SeriesWindows(s, 0, 1))!.ParamName, Is.EqualTo("window"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new SeriesWindows(s, 5, 1, targetsTo: 21))!.ParamName, Is.EqualTo("targetsTo"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new SeriesWindows(s, 5, 1, targetsFrom: 4))!.ParamName, Is.EqualTo("targetsFrom"));
        Assert.That(Assert.Throws<ArgumentException>(() => new SeriesWindows(s, 15, 6))!.Message, Does.Contain("no window of 15 inputs and 6 targets fits"));
        Assert.That(Assert.Throws<ArgumentException>(() => new SeriesWindows(s, int.MaxValue, int.MaxValue))!.Message, Does.Contain("no window"));
        s[7] = float.NaN;
        Assert.That(Assert.Throws<ArgumentException>(() => new SeriesWindows(s, 5, 1))!.Message, Does.Contain("NaN at index 7"));
        var m = Model("linear", 8, 2);
        Assert.Throws<ShapeMismatchException>(() => m.Fit(new SeriesWindows(new float[40], 5, 2), verbose: 0), "window differs from the model's input");
    }

    [Test]
    public void FitRefusesZeroEpochs()
    {
        var m = Model("linear", 4, 1);
        var w = new SeriesWindows(new float[20], 4, 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => m.Fit(w, epochs: 0, verbose: 0))!;
        Assert.That(e.ParamName, Is.EqualTo("epochs"));
        var d = w.Materialize();
        e = Assert.Throws<ArgumentOutOfRangeException>(() => m.Fit(Tensor.FromArray(d.X, d.XShape), Tensor.FromArray(d.Y, d.YShape), epochs: 0, verbose: 0))!;
        Assert.That(e.ParamName, Is.EqualTo("epochs"));
        Assert.That(e.Message, Does.Contain("epochs must be at least 1"));
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => m.Fit(w, batchSize: 0, verbose: 0))!.ParamName, Is.EqualTo("batchSize"));
    }
}
