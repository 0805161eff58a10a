using Rnnx.Data;
using Rnnx.Forecasting;
using Rnnx.Optimizers;

namespace Rnnx.Tests.Forecasting;

/// <summary>Baselines, errors, season detection and the train/validation/test preparation of a series.</summary>
public sealed class ForecastingTests
{
    private static float[] Seasonal(int n, double trend, int period = 12) =>
        Enumerable.Range(0, n).Select(i => (float)(trend * i + 10 * Math.Sin(2 * Math.PI * i / period) + 0.5 * Math.Cos(1.7 * i * i))).ToArray();

    [Test]
    public void BaselinesByHand()
    {
        float[] s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        var w = new SeriesWindows(s, 3, 3, targetsFrom: 5);   // first targets at 5, 6, 7
        Assert.That(Baselines.Naive(w), Is.EqualTo(new float[] { 5, 5, 5, 6, 6, 6, 7, 7, 7 }));
        // season 2: step k of a sample at t reads t + k - 2*ceil((k+1)/2): t-2, t-1, t-2
        Assert.That(Baselines.SeasonalNaive(w, 2), Is.EqualTo(new float[] { 4, 5, 4, 5, 6, 5, 6, 7, 6 }));
        Assert.That(Baselines.SeasonalNaive(w, 1), Is.EqualTo(Baselines.Naive(w)), "season 1 is naive");
        Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Baselines.SeasonalNaive(w, 6))!.ParamName, Is.EqualTo("season"));
    }

    [Test]
    public void ErrorsAndMaseByHand()
    {
        var e = ForecastErrors.Of([1, 2, 3], [2, 2, 5], maseScale: 0.5);
        Assert.That(e.Mse, Is.EqualTo(5.0 / 3));
        Assert.That(e.Mae, Is.EqualTo(1.0));
        Assert.That(e.Mase, Is.EqualTo(2.0));
        Assert.That(ForecastErrors.MaseScale([1, 3, 2, 6], 1), Is.EqualTo((2 + 1 + 4) / 3.0));
        Assert.That(ForecastErrors.MaseScale([1, 3, 2, 6], 2), Is.EqualTo((1 + 3) / 2.0));
        Assert.That(ForecastErrors.MaseScale([4, 4, 4], 1), Is.EqualTo(1.0), "constant: 1, not a division by zero");
    }

    [Test]
    public void SeasonIsDetectedThroughATrend()
    {
        Assert.That(Baselines.DetectSeason(Seasonal(300, trend: 0.5)), Is.EqualTo(12));
        Assert.That(Baselines.DetectSeason(Seasonal(500, trend: -2, period: 52)), Is.EqualTo(52));
        var rng = new Rnnx.Random.NumPyRandomState(1);
        var noise = Enumerable.Range(0, 300).Select(_ => (float)rng.StandardNormal()).ToArray();
        Assert.That(Baselines.DetectSeason(noise), Is.EqualTo(1), "white noise has no season");
    }

    /// <summary>A random walk plus a sinusoid of the given period, as the streaming example of docs/forecasting.md (there 5,000,000 values).</summary>
    private static float[] WalkWithSeason(int n, double amplitude, int period, uint seed)
    {
        var rng = new Rnnx.Random.NumPyRandomState(seed);
        double level = 0;
        return Enumerable.Range(0, n).Select(i => (float)((level += rng.StandardNormal()) + amplitude * Math.Sin(2 * Math.PI * i / period))).ToArray();
    }

    [TestCase(24, 5.0)]
    [TestCase(24, 3.0)]
    [TestCase(12, 3.0)]
    [TestCase(7, 2.0)]
    public void SeasonIsDetectedUnderAWanderingLevel(int period, double amplitude)
    {
        // The level's slowly decaying autocorrelation used to pull the ACF peak one lag short (23 for 24): the walk is
        // now recognized (mean ACF above UnitRootMeanAcf) and differenced away, and the peak refined by its multiples.
        for (uint seed = 1; seed <= 5; seed++)
            Assert.That(Baselines.DetectSeason(WalkWithSeason(3000, amplitude, period, seed)), Is.EqualTo(period), $"seed {seed}");
        Assert.That(Baselines.DetectSeason(WalkWithSeason(400_000, 5, 24, 1)), Is.EqualTo(24), "a long walk, where the level dominates most");
    }

    [Test]
    public void WeakSeasonsAreFoundOnTheirPeriodNotBesideIt()
    {
        var rng = new Rnnx.Random.NumPyRandomState(4);
        foreach (int period in new[] { 12, 24, 52 })
        {
            var weak = Enumerable.Range(0, 2000).Select(i => (float)(1.0 * Math.Sin(2 * Math.PI * i / period) + rng.StandardNormal())).ToArray();
            Assert.That(Baselines.DetectSeason(weak), Is.EqualTo(period), $"period {period}");
        }
        var walk = WalkWithSeason(3000, 0, 24, 2);
        Assert.That(Baselines.DetectSeason(walk), Is.EqualTo(1), "a random walk alone has no season");
    }

    [TestCase("nottem.csv", "temp_f", 12)]
    [TestCase("co2_monthly.csv", "co2_ppm", 12)]
    [TestCase("air_passengers.csv", "passengers", 12)]
    [TestCase("co2_weekly.csv", "co2_ppm", 52)]
    public void SeasonOfTheRealSeriesOnTheirTrainingParts(string file, string column, int season)
    {
        var values = Rnnx.Tests.TestUtilities.RepoFiles.Series(file, column);
        var split = Windowing.SplitPoints(values.Length, 0.2, 0.2);
        Assert.That(Baselines.DetectSeason(values.AsSpan(0, split.TrainEnd)), Is.EqualTo(season));
    }

    [Test]
    public void PrepareSplitsInTimeOrderAndFitsTheScalerOnTheTrainingPartOnly()
    {
        var s = Seasonal(200, trend: 1);
        var d = ForecastData.Prepare(s, new ForecastSetup(24, 3, SeriesScaling.Standard, 0.2, 0.2));
        Assert.That(d.Split, Is.EqualTo(new SeriesSplit(120, 160, 200)));
        Assert.That((d.Train.LastTarget + 3, d.Valid!.FirstTarget, d.Valid.LastTarget + 3, d.Test.FirstTarget, d.Test.LastTarget + 3),
            Is.EqualTo((120, 120, 160, 160, 200)), "targets of each part stay in it");
        var (mean, std) = Windowing.Statistics(s.AsSpan(0, 120));
        Assert.That((d.Scaler.Center, d.Scaler.Scale), Is.EqualTo((mean, std)));
        Assert.That(d.Season, Is.EqualTo(12));
        var changedTest = (float[])s.Clone();
        for (int i = 120; i < 200; i++) changedTest[i] = 1e6f;
        var d2 = ForecastData.Prepare(changedTest, d.Setup);
        Assert.That((d2.Scaler.Center, d2.Scaler.Scale, d2.Season, d2.MaseScale), Is.EqualTo((d.Scaler.Center, d.Scaler.Scale, d.Season, d.MaseScale)),
            "nothing is learned from the validation or test parts");
        var e = Assert.Throws<ArgumentException>(() => ForecastData.Prepare(s.AsSpan(0, 40).ToArray(), d.Setup))!;
        Assert.That(e.Message, Does.Contain("training needs at least 27").And.Contain("so the series needs at least 45 values"));
        long min = ForecastData.MinimumLength(d.Setup);
        Assert.DoesNotThrow(() => ForecastData.Prepare(s.AsSpan(0, (int)min).ToArray(), d.Setup));
        Assert.Throws<ArgumentException>(() => ForecastData.Prepare(s.AsSpan(0, (int)min - 1).ToArray(), d.Setup));
        Assert.That(ForecastData.MinimumLength(new ForecastSetup(int.MaxValue, int.MaxValue)), Is.GreaterThan((long)int.MaxValue), "huge sizes answer at once");
        Assert.Throws<ArgumentOutOfRangeException>(() => ForecastData.Prepare(s, d.Setup with { TestFraction = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => ForecastData.Prepare(s, d.Setup with { ValidationFraction = 0.5, TestFraction = 0.5 }));
    }

    [Test]
    public void LastValueScalingSurvivesATrendThatStandardScalingDoesNot()
    {
        // A steep trend: the test part lies far above anything seen in training.
        var s = Seasonal(480, trend: 0.8);
        ForecastComparison Run(SeriesScaling scaling)
        {
            var d = ForecastData.Prepare(s, new ForecastSetup(24, 1, scaling, 0.2, 0.2, Season: 12));
            var m = ForecastModels.Create("gru", 24, 1, seed: 1);
            m.Compile(new Nadam(0.01), Losses.Loss.MeanSquaredError);
            m.Fit(d.Train, epochs: 25, validationData: d.Valid, verbose: 0);
            var c = d.Evaluate(m);
            TestContext.Out.WriteLine($"{scaling}: model MSE {c.Model.Mse:G4}, naive {c.Naive.Mse:G4}, seasonal naive {c.SeasonalNaive.Mse:G4}; {c.Verdict()}");
            return c;
        }
        var lastValue = Run(SeriesScaling.LastValue);
        var standard = Run(SeriesScaling.Standard);
        Assert.That(lastValue.LosesToABaseline, Is.False, lastValue.Verdict());
        Assert.That(standard.LosesToABaseline, Is.True, "standard scaling extrapolates badly past the training range");
        Assert.That(standard.Verdict(), Does.StartWith("WARNING: the model loses to the naive baseline"));
    }

    [TestCase(0.2, 0.0)]
    [TestCase(0.5, 0.5)]
    [TestCase(-0.1, 0.2)]
    public void MinimumLengthRefusesSplitsWithoutATestPartOrATrainingPart(double validation, double test)
    {
        // These once looped forever (a division by zero or a negative bound); now they answer at once.
        var setup = new ForecastSetup(10, 3, ValidationFraction: validation, TestFraction: test);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ForecastData.MinimumLength(setup));
        Assert.That(e!.Message, Does.Contain("Fraction"));
    }
}
