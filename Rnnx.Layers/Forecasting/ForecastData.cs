using System.Globalization;
using Rnnx.Data;
using Rnnx.Models;

namespace Rnnx.Forecasting;

/// <summary>How a series is turned into forecasting samples and split for an honest evaluation.</summary>
/// <param name="Window">Input steps per sample.</param>
/// <param name="Horizon">Steps forecast at once.</param>
/// <param name="Scaling">The scaling of inputs and targets (default <see cref="SeriesScaling.LastValue"/>, which survives trends and level shifts).</param>
/// <param name="ValidationFraction">Share of the values whose samples drive early stopping (may be 0).</param>
/// <param name="TestFraction">Share of the values, at the end, whose samples are only used for the final report.</param>
/// <param name="Season">The seasonal-naive baseline's season; null detects it from the training part (<see cref="Baselines.DetectSeason"/>).</param>
/// <param name="Transform">A transform of the values before scaling (<see cref="SeriesTransformKind.Log"/> for a multiplicative season), inverted on forecasts.</param>
/// <param name="Lambda">Box–Cox's λ with <see cref="SeriesTransformKind.BoxCox"/>; null estimates it on the training part (<see cref="SeriesTransform.EstimateBoxCox"/>).</param>
public sealed record ForecastSetup(int Window, int Horizon, SeriesScaling Scaling = SeriesScaling.LastValue,
    double ValidationFraction = 0.2, double TestFraction = 0.2, int? Season = null,
    SeriesTransformKind Transform = SeriesTransformKind.None, double? Lambda = null);

/// <summary>
/// A series prepared for training and an honest evaluation: split in time order into training, validation and test
/// parts (<see cref="SeriesSplit"/>), scaled with statistics of the training part only, and cut into streaming
/// samples. The validation samples are for early stopping; the test samples for <see cref="Evaluate"/> once, at the end.
/// With a <see cref="ForecastSetup.Transform"/>, the windows are cut from the transformed series and the forecasts
/// transformed back before they are compared with the raw values (the baselines always read the raw values).
/// </summary>
public sealed class ForecastData
{
    private readonly SeriesWindows _rawTest;

    private ForecastData(float[] raw, float[] series, ForecastSetup setup, SeriesSplit split, SeriesScaler scaler, SeriesTransform transform, int season)
    {
        Raw = raw;
        Series = series;
        Setup = setup;
        Split = split;
        Scaler = scaler;
        Transform = transform;
        Season = season;
        int w = setup.Window, h = setup.Horizon, earliest = w + scaler.Lookback;
        Train = new SeriesWindows(series, w, h, scaler, earliest, split.TrainEnd);
        Valid = split.ValidEnd > split.TrainEnd ? new SeriesWindows(series, w, h, scaler, split.TrainEnd, split.ValidEnd) : null;
        Test = new SeriesWindows(series, w, h, scaler, split.ValidEnd, split.Length);
        _rawTest = ReferenceEquals(raw, series) ? Test : new SeriesWindows(raw, w, h, null, split.ValidEnd, split.Length);
        MaseScale = ForecastErrors.MaseScale(raw.AsSpan(0, split.TrainEnd), season);
    }

    /// <summary>Splits, scales and windows <paramref name="series"/> (held, not copied).</summary>
    /// <param name="series">The values, oldest first.</param>
    /// <param name="setup">Window, horizon, scaling, split and season.</param>
    /// <param name="scaler">
    /// A scaler to use instead of fitting one on the training part (e.g. a saved model's, to evaluate it on the data it
    /// was trained with); its method must be <see cref="ForecastSetup.Scaling"/>.
    /// </param>
    /// <param name="transform">
    /// A transform to use instead of the setup's (e.g. a saved model's, with its estimated λ); its kind must be
    /// <see cref="ForecastSetup.Transform"/>.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">A size, fraction or λ out of range (the parameter is named).</exception>
    /// <exception cref="ArgumentException">
    /// A part too short for one sample (the message gives the lengths), a gap (NaN) in the series, a value that is not
    /// positive for a log or Box–Cox transform (its index named), or a scaler or transform of another kind.
    /// </exception>
    public static ForecastData Prepare(float[] series, ForecastSetup setup, SeriesScaler? scaler = null, SeriesTransform? transform = null)
    {
        if (scaler is not null && setup is not null && scaler.Method != setup.Scaling)
            throw new ArgumentException($"The scaler is {SeriesScaler.NameOf(scaler.Method)}, the setup asks for {SeriesScaler.NameOf(setup.Scaling)}.", nameof(scaler));
        if (transform is not null && setup is not null && transform.Kind != setup.Transform)
            throw new ArgumentException($"The transform is {transform.Name}, the setup asks for {SeriesTransform.NameOf(setup.Transform)}.", nameof(transform));
        ArgumentNullException.ThrowIfNull(series);
        ArgumentNullException.ThrowIfNull(setup);
        CheckSetup(setup);
        var split = Windowing.SplitPoints(series.Length, setup.ValidationFraction, setup.TestFraction);
        var probe = new SeriesScaler(setup.Scaling, 0, 1);
        long needTrain = (long)setup.Window + probe.Lookback + setup.Horizon;
        if (split.TrainEnd < Math.Max(needTrain, 2) || split.ValidEnd - split.TrainEnd < (setup.ValidationFraction > 0 ? setup.Horizon : 0) || split.Length - split.ValidEnd < setup.Horizon)
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"The series has {series.Length} values: {split.TrainEnd} for training, {split.ValidEnd - split.TrainEnd} for validation and {split.Length - split.ValidEnd} for testing; " +
                $"training needs at least {needTrain} ({setup.Window} inputs{(probe.Lookback > 0 ? " + 1 before them" : "")} + {setup.Horizon} targets) and the other parts at least {setup.Horizon} each, " +
                $"so the series needs at least {MinimumLength(setup)} values."), nameof(series));
        transform ??= setup.Transform switch
        {
            SeriesTransformKind.Log => SeriesTransform.Log,
            SeriesTransformKind.BoxCox => setup.Lambda is double lambda ? SeriesTransform.BoxCox(lambda) : SeriesTransform.EstimateBoxCox(series.AsSpan(0, split.TrainEnd)),
            _ => SeriesTransform.None,
        };
        var transformed = transform.Apply(series);
        scaler ??= SeriesScaler.Fit(setup.Scaling, transformed.AsSpan(0, split.TrainEnd));
        int season = setup.Season ?? Baselines.DetectSeason(series.AsSpan(0, split.TrainEnd));
        if (season > split.ValidEnd) season = 1;
        return new ForecastData(series, transformed, setup, split, scaler, transform, season);
    }

    /// <summary>Sizes, season and fractions of a setup, checked as <see cref="Prepare"/> and <see cref="MinimumLength"/> need them.</summary>
    private static void CheckSetup(ForecastSetup setup)
    {
        if (setup.Window <= 0) throw new ArgumentOutOfRangeException(nameof(setup), setup.Window, "Window must be at least 1.");
        if (setup.Horizon <= 0) throw new ArgumentOutOfRangeException(nameof(setup), setup.Horizon, "Horizon must be at least 1.");
        if (!(setup.TestFraction > 0)) throw new ArgumentOutOfRangeException(nameof(setup), setup.TestFraction, "TestFraction must be positive: the test part is what the report is about.");
        if (setup.Season is <= 0) throw new ArgumentOutOfRangeException(nameof(setup), setup.Season, "Season must be at least 1.");
        if (!Enum.IsDefined(setup.Transform)) throw new ArgumentOutOfRangeException(nameof(setup), setup.Transform, "Unknown transform.");
        if (setup.Lambda is double lambda && (setup.Transform != SeriesTransformKind.BoxCox || !(lambda >= SeriesTransform.MinLambda && lambda <= SeriesTransform.MaxLambda)))
            throw new ArgumentOutOfRangeException(nameof(setup), lambda, string.Create(CultureInfo.InvariantCulture,
                $"Lambda is for the Box-Cox transform only, between {SeriesTransform.MinLambda} and {SeriesTransform.MaxLambda}."));
        Windowing.SplitPoints(0, setup.ValidationFraction, setup.TestFraction);   // the fractions' own checks
    }

    /// <summary>
    /// The shortest series <see cref="Prepare"/> accepts for <paramref name="setup"/> (a long: it may exceed any array).
    /// Computed from the real-valued bound, so huge sizes answer at once.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size, season or fraction out of range, as <see cref="Prepare"/> refuses it.</exception>
    public static long MinimumLength(ForecastSetup setup)
    {
        ArgumentNullException.ThrowIfNull(setup);
        CheckSetup(setup);
        double v = setup.ValidationFraction, t = setup.TestFraction;
        long needTrain = Math.Max(2, (long)setup.Window + new SeriesScaler(setup.Scaling, 0, 1).Lookback + setup.Horizon);
        long needValid = v > 0 ? setup.Horizon : 0, needTest = setup.Horizon;
        double bound = Math.Max(needTrain / (1 - v - t), Math.Max(v > 0 ? (needValid - 0.5) / v : 0, (needTest - 0.5) / t));
        for (long n = Math.Max(needTrain + needValid + needTest, (long)bound - 2); n < long.MaxValue; n++)
        {
            long test = (long)Math.Round(n * t), valid = (long)Math.Round(n * v), train = n - test - valid;
            if (train >= needTrain && valid >= needValid && test >= needTest) return n;
        }
        throw new ArgumentOutOfRangeException(nameof(setup), "no series length fits this window, horizon and split.");
    }

    /// <summary>The whole series as given (not a copy).</summary>
    public float[] Raw { get; }

    /// <summary>The series the windows are cut from: <see cref="Raw"/> itself without a transform, else its transform.</summary>
    public float[] Series { get; }

    /// <summary>The transform applied before scaling (<see cref="SeriesTransform.None"/> by default), with its λ.</summary>
    public SeriesTransform Transform { get; }

    /// <summary>The setup this was prepared with.</summary>
    public ForecastSetup Setup { get; }

    /// <summary>The cut points of the three parts.</summary>
    public SeriesSplit Split { get; }

    /// <summary>The scaler, fitted on the training part only.</summary>
    public SeriesScaler Scaler { get; }

    /// <summary>The seasonal-naive baseline's season (given, or detected on the training part; 1 means none).</summary>
    public int Season { get; }

    /// <summary>MASE's denominator, from the training part (see <see cref="ForecastErrors.MaseScale"/>).</summary>
    public double MaseScale { get; }

    /// <summary>Training samples (targets before <see cref="SeriesSplit.TrainEnd"/>).</summary>
    public SeriesWindows Train { get; }

    /// <summary>Validation samples for early stopping, or null when <see cref="ForecastSetup.ValidationFraction"/> is 0.</summary>
    public SeriesWindows? Valid { get; }

    /// <summary>Test samples (targets from <see cref="SeriesSplit.ValidEnd"/>): for the final report only.</summary>
    public SeriesWindows Test { get; }

    /// <summary>
    /// The model's errors on the test samples, in the series' units, beside the naive and seasonal-naive baselines'
    /// on the same samples.
    /// </summary>
    public ForecastComparison Evaluate(Sequential model, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        var outputs = model.Predict(Test, batchSize).ToFloatArray();
        var forecasts = Test.InverseForecasts(outputs);
        Transform.Inverse(forecasts);
        var actual = new float[forecasts.Length];
        for (int i = 0; i < _rawTest.Count; i++) _rawTest.RawTargets(i).CopyTo(actual.AsSpan(i * Test.Horizon));
        return new ForecastComparison(
            ForecastErrors.Of(forecasts, actual, MaseScale),
            ForecastErrors.Of(Baselines.Naive(_rawTest), actual, MaseScale),
            ForecastErrors.Of(Baselines.SeasonalNaive(_rawTest, Season), actual, MaseScale),
            Test.Count, Season);
    }
}

/// <summary>A model's test errors beside the baselines' on the same samples.</summary>
/// <param name="Model">The model's errors.</param>
/// <param name="Naive">The naive (last value) forecast's errors.</param>
/// <param name="SeasonalNaive">The seasonal-naive forecast's errors (equal to naive when the season is 1).</param>
/// <param name="Samples">The number of test samples (each contributes horizon errors).</param>
/// <param name="Season">The season used.</param>
public sealed record ForecastComparison(ForecastErrors Model, ForecastErrors Naive, ForecastErrors SeasonalNaive, int Samples, int Season)
{
    /// <summary>True when the model's MSE or MAE is worse than either baseline's.</summary>
    public bool LosesToABaseline => Worse(Naive) || Worse(SeasonalNaive);

    private bool Worse(ForecastErrors b) => Model.Mse > b.Mse || Model.Mae > b.Mae;

    /// <summary>One line saying how the model compares with the baselines, plainly when it loses.</summary>
    public string Verdict()
    {
        var lost = new List<string>();
        if (Worse(Naive)) lost.Add(Describe("naive", Naive));
        if (Season > 1 && Worse(SeasonalNaive)) lost.Add(Describe($"seasonal naive (season {Season})", SeasonalNaive));
        if (lost.Count == 0)
            return string.Create(CultureInfo.InvariantCulture,
                $"The model beats the naive{(Season > 1 ? " and seasonal-naive" : "")} baseline{(Season > 1 ? "s" : "")} on the test part (MSE {Model.Mse:G4} vs {Naive.Mse:G4}{(Season > 1 ? $" and {SeasonalNaive.Mse:G4}" : "")}).");
        return "WARNING: the model loses to " + string.Join(" and to ", lost) + " on the test part; do not trust its forecasts over that baseline.";
    }

    private string Describe(string name, ForecastErrors b) => string.Create(CultureInfo.InvariantCulture,
        $"the {name} baseline (MSE {Model.Mse:G4} vs {b.Mse:G4}, MAE {Model.Mae:G4} vs {b.Mae:G4})");
}
