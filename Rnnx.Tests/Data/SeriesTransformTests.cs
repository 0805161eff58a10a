using Rnnx.Data;
using Rnnx.Forecasting;
using Rnnx.Losses;
using Rnnx.Optimizers;
using Rnnx.Tests.TestUtilities;

namespace Rnnx.Tests.Data;

/// <summary>Log and Box–Cox transforms before scaling: values, inverses, the λ estimate, and their use by ForecastData.</summary>
[TestFixture]
public sealed class SeriesTransformTests
{
    /// <summary>A multiplicative season: the amplitude grows with the level (as AirPassengers).</summary>
    private static float[] Multiplicative(int n) =>
        Enumerable.Range(0, n).Select(i => (float)(100 * Math.Exp(0.01 * i) * (1 + 0.2 * Math.Sin(2 * Math.PI * i / 12)))).ToArray();

    [Test]
    public void ForwardAndBackwardMatchTheDefinition()
    {
        Assert.That(SeriesTransform.Log.Forward(Math.E), Is.EqualTo(1).Within(1e-15));
        Assert.That(SeriesTransform.Log.Backward(2), Is.EqualTo(Math.Exp(2)));
        var bc = SeriesTransform.BoxCox(0.5);
        Assert.That(bc.Forward(9), Is.EqualTo((3 - 1) / 0.5));   // (x^λ − 1)/λ
        Assert.That(bc.Backward(4), Is.EqualTo(9).Within(1e-12));
        Assert.That(SeriesTransform.BoxCox(0).Forward(5), Is.EqualTo(Math.Log(5)), "λ = 0 is the log");
        Assert.That(SeriesTransform.None.Forward(-3), Is.EqualTo(-3));
        // No preimage where λy + 1 ≤ 0: the limit (0 for λ > 0, +∞ for λ < 0).
        Assert.That(bc.Backward(-10), Is.EqualTo(0));
        Assert.That(SeriesTransform.BoxCox(-0.5).Backward(10), Is.EqualTo(double.PositiveInfinity));
        foreach (var t in new[] { SeriesTransform.Log, bc, SeriesTransform.BoxCox(-0.7), SeriesTransform.BoxCox(1.8) })
            foreach (var x in new[] { 0.01, 1.0, 3.5, 1234.0 })
                Assert.That(t.Backward(t.Forward(x)), Is.EqualTo(x).Within(1e-9 * x), $"{t} at {x}");
    }

    [Test]
    public void ApplyRefusesValuesThatAreNotPositiveNamingTheIndex()
    {
        var e = Assert.Throws<ArgumentException>(() => SeriesTransform.Log.Apply([3f, 2f, 0f, 1f]))!;
        Assert.That(e.Message, Does.Contain("the log transform needs positive values; value 2 (0-based) is 0"));
        Assert.That(() => SeriesTransform.BoxCox(0.3).Apply([1f, -1f]), Throws.ArgumentException.With.Message.Contains("value 1 (0-based) is -1"));
        Assert.That(() => SeriesTransform.Log.Apply([1f, float.NaN]), Throws.ArgumentException.With.Message.Contains("value 1"));
        float[] raw = [-1f, 0f, 5f];
        Assert.That(SeriesTransform.None.Apply(raw), Is.SameAs(raw));
        Assert.That(() => SeriesTransform.BoxCox(2.5), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("between -1 and 2"));
        Assert.That(() => SeriesTransform.BoxCox(double.NaN), Throws.TypeOf<ArgumentOutOfRangeException>());
        Assert.That(() => SeriesTransform.ParseKind("sqrt"), Throws.ArgumentException.With.Message.Contains("transforms: none, log, box-cox"));
    }

    [Test]
    public void EstimatedLambdaMaximizesTheBoxCoxLikelihood()
    {
        // exp of a normal sample: the log (λ = 0) makes it normal, so the estimate is near 0.
        var rng = new Rnnx.Random.NumPyRandomState(3);
        var lognormal = Enumerable.Range(0, 2000).Select(_ => (float)Math.Exp(0.5 * rng.StandardNormal())).ToArray();
        Assert.That(SeriesTransform.EstimateBoxCox(lognormal).Lambda, Is.EqualTo(0).Within(0.1));
        // scipy.stats.boxcox on the 144 AirPassengers values gives lmbda = 0.14802265 (the value quoted with
        // Box-Jenkins's airline data wherever the transform is taught; the same likelihood, maximized by Brent's method).
        var air = RepoFiles.Series("air_passengers.csv", "passengers");
        Assert.That(SeriesTransform.EstimateBoxCox(air).Lambda, Is.EqualTo(0.14802265).Within(1e-5));
        var squares = Enumerable.Range(0, 2000).Select(_ => (float)Math.Pow(3 + rng.StandardNormal(), 2)).Where(v => v > 0).ToArray();
        var est = SeriesTransform.EstimateBoxCox(squares);
        // It is a maximum of scipy.stats.boxcox_llf's function: nearby λ do no better.
        static double Llf(float[] x, double l)
        {
            var y = x.Select(v => l == 0 ? Math.Log(v) : (Math.Pow(v, l) - 1) / l).ToArray();
            double m = y.Average(), var = y.Sum(v => (v - m) * (v - m)) / y.Length;
            return -0.5 * y.Length * Math.Log(var) + (l - 1) * x.Sum(v => Math.Log(v));
        }
        Assert.That(Llf(squares, est.Lambda), Is.GreaterThanOrEqualTo(Llf(squares, est.Lambda + 0.01)));
        Assert.That(Llf(squares, est.Lambda), Is.GreaterThanOrEqualTo(Llf(squares, est.Lambda - 0.01)));
        Assert.That(() => SeriesTransform.EstimateBoxCox([2f, 2f, 2f]), Throws.ArgumentException.With.Message.Contains("not all equal"));
        Assert.That(() => SeriesTransform.EstimateBoxCox([2f, -2f, 2f]), Throws.ArgumentException.With.Message.Contains("value 1 (0-based) is -2"));
    }

    [Test]
    public void PrepareTransformsBeforeScalingAndComparesOnRawValues()
    {
        var values = Multiplicative(240);
        var setup = new ForecastSetup(24, 3, SeriesScaling.LastValue, Transform: SeriesTransformKind.Log);
        var data = ForecastData.Prepare(values, setup);
        Assert.That(data.Raw, Is.SameAs(values));
        Assert.That(data.Series[100], Is.EqualTo((float)Math.Log(values[100])));
        Assert.That(data.Scaler.Scale, Is.EqualTo(SeriesScaler.Fit(SeriesScaling.LastValue, data.Series.AsSpan(0, data.Split.TrainEnd)).Scale));
        Assert.That(data.Season, Is.EqualTo(12));

        var model = ForecastModels.Create("linear", 24, 3, seed: 1);
        model.Compile(new Nadam(1e-3), Loss.MeanSquaredError);
        var c = data.Evaluate(model);
        // The model's forecasts are transformed back: its errors are in the raw units, as the baselines' are.
        var outputs = model.Predict(data.Test).ToFloatArray();
        var forecasts = data.Test.InverseForecasts(outputs).Select(v => (float)Math.Exp(v)).ToArray();
        var actual = Enumerable.Range(0, data.Test.Count).SelectMany(i => values.Skip(data.Test.TargetIndex(i)).Take(3)).ToArray();
        Assert.That(c.Model.Mse, Is.EqualTo(ForecastErrors.Of(forecasts, actual, data.MaseScale).Mse));
        var untransformed = ForecastData.Prepare(values, setup with { Transform = SeriesTransformKind.None });
        var bc = untransformed.Evaluate(model);
        Assert.That((c.Naive, c.SeasonalNaive), Is.EqualTo((bc.Naive, bc.SeasonalNaive)), "the baselines read the raw series");

        var boxCox = ForecastData.Prepare(values, setup with { Transform = SeriesTransformKind.BoxCox });
        Assert.That(boxCox.Transform, Is.EqualTo(SeriesTransform.EstimateBoxCox(values.AsSpan(0, boxCox.Split.TrainEnd))), "λ from the training part only");
        var given = ForecastData.Prepare(values, setup with { Transform = SeriesTransformKind.BoxCox, Lambda = 0.25 });
        Assert.That(given.Transform.Lambda, Is.EqualTo(0.25));
        var changedTest = values.ToArray();
        for (int i = boxCox.Split.TrainEnd; i < changedTest.Length; i++) changedTest[i] *= 3;
        Assert.That(ForecastData.Prepare(changedTest, setup with { Transform = SeriesTransformKind.BoxCox }).Transform, Is.EqualTo(boxCox.Transform));
    }

    [Test]
    public void PrepareRefusesBadTransformSettings()
    {
        var values = Multiplicative(240);
        values[7] = -1;
        var setup = new ForecastSetup(24, 3, Transform: SeriesTransformKind.Log);
        Assert.That(() => ForecastData.Prepare(values, setup), Throws.ArgumentException.With.Message.Contains("value 7 (0-based) is -1"));
        Assert.That(() => ForecastData.Prepare(Multiplicative(240), new ForecastSetup(24, 3, Lambda: 0.5)),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("Lambda is for the Box-Cox transform only"));
        Assert.That(() => ForecastData.Prepare(Multiplicative(240), setup, transform: SeriesTransform.BoxCox(1)),
            Throws.ArgumentException.With.Message.Contains("The transform is box-cox, the setup asks for log"));
    }
}
