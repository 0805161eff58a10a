using System.Globalization;

namespace Rnnx.Data;

/// <summary>How a forecaster's inputs and targets are scaled (see docs/forecasting.md).</summary>
public enum SeriesScaling
{
    /// <summary>
    /// Z-score with the training part's mean and standard deviation: x' = (x − mean) / std. Breaks when the series
    /// leaves the training range (a trend or level shift): the model then sees inputs it was never trained on.
    /// </summary>
    Standard,

    /// <summary>
    /// Last-value normalization (as in NLinear, Zeng et al. 2023, "Are Transformers Effective for Time Series
    /// Forecasting?"): every window's inputs and targets minus the window's last input value, divided by the
    /// training part's one-step-difference standard deviation. The model forecasts changes from the last observation,
    /// so a level shift does not move its inputs.
    /// </summary>
    LastValue,

    /// <summary>
    /// Window-mean normalization (the mean subtraction of instance normalization, RevIN, Kim et al. 2022; DeepAR
    /// scales each window by its mean): inputs and targets minus the mean of the window's inputs, divided by the
    /// training part's one-step-difference standard deviation.
    /// </summary>
    WindowMean,

    /// <summary>
    /// First differencing (the "I" of Box–Jenkins ARIMA): the model sees and forecasts x[t] − x[t−1] (divided by the
    /// training part's one-step-difference standard deviation); forecasts are summed back onto the last value. A
    /// window needs one value more than its length, before it.
    /// </summary>
    Difference,
}

/// <summary>
/// Scales forecasting windows and un-scales forecasts: <see cref="Fit"/> learns the statistics on the training part
/// only, <see cref="Transform"/> turns one window of raw values into model inputs and targets, and
/// <see cref="Inverse"/> turns a model output back into values of the series. Arithmetic is in double, rounded once
/// to float, so the same window always gives the same bits.
/// </summary>
public sealed class SeriesScaler
{
    /// <summary>A scaler with known statistics (for example read back from a saved model).</summary>
    /// <param name="method">The scaling.</param>
    /// <param name="center">The value subtracted by <see cref="SeriesScaling.Standard"/> (ignored by the others, which subtract a per-window reference).</param>
    /// <param name="scale">The divisor, positive and finite.</param>
    /// <exception cref="ArgumentOutOfRangeException">An unknown method, a non-finite center or a scale that is not positive and finite.</exception>
    public SeriesScaler(SeriesScaling method, double center, double scale)
    {
        if (!Enum.IsDefined(method)) throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown scaling.");
        if (!double.IsFinite(center)) throw new ArgumentOutOfRangeException(nameof(center), center, "center must be finite.");
        if (!(scale > 0 && double.IsFinite(scale))) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be positive and finite.");
        Method = method;
        Center = method == SeriesScaling.Standard ? center : 0;
        Scale = scale;
    }

    /// <summary>The scaling.</summary>
    public SeriesScaling Method { get; }

    /// <summary>The training mean for <see cref="SeriesScaling.Standard"/>; 0 for the per-window scalings.</summary>
    public double Center { get; }

    /// <summary>The divisor: the training std (standard) or the training one-step-difference std (the others); 1 when that is 0.</summary>
    public double Scale { get; }

    /// <summary>Raw values a window needs before its first input (1 for differencing, else 0).</summary>
    public int Lookback => Method == SeriesScaling.Difference ? 1 : 0;

    /// <summary>The literature's name of a scaling as the CLI and docs spell it: standard, last_value, window_mean, difference.</summary>
    public static string NameOf(SeriesScaling method) => method switch
    {
        SeriesScaling.Standard => "standard",
        SeriesScaling.LastValue => "last_value",
        SeriesScaling.WindowMean => "window_mean",
        SeriesScaling.Difference => "difference",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown scaling."),
    };

    /// <summary>The scaling named <paramref name="name"/> (see <see cref="NameOf"/>).</summary>
    /// <exception cref="ArgumentException">An unknown name (the message lists the known ones).</exception>
    public static SeriesScaling Parse(string name)
    {
        foreach (var m in Enum.GetValues<SeriesScaling>())
            if (string.Equals(NameOf(m), name, StringComparison.Ordinal)) return m;
        throw new ArgumentException($"unknown scaling '{name}'; scalings: {string.Join(", ", Enum.GetValues<SeriesScaling>().Select(NameOf))}", nameof(name));
    }

    /// <summary>Learns the statistics of <paramref name="training"/> (the training part of the series only).</summary>
    /// <exception cref="ArgumentException">Fewer than two values, or a non-finite value.</exception>
    public static SeriesScaler Fit(SeriesScaling method, ReadOnlySpan<float> training)
    {
        if (training.Length < 2) throw new ArgumentException($"A scaler needs at least 2 training values, got {training.Length}.", nameof(training));
        for (int i = 0; i < training.Length; i++)
            if (!float.IsFinite(training[i]))
                throw new ArgumentException($"The training part has {training[i].ToString(CultureInfo.InvariantCulture)} at index {i}; fill the gaps first.", nameof(training));
        if (method == SeriesScaling.Standard)
        {
            var (mean, std) = Windowing.Statistics(training);
            return new SeriesScaler(method, mean, std);
        }
        double dm = 0;
        for (int i = 1; i < training.Length; i++) dm += (double)training[i] - training[i - 1];
        dm /= training.Length - 1;
        double dv = 0;
        for (int i = 1; i < training.Length; i++)
        {
            double d = (double)training[i] - training[i - 1] - dm;
            dv += d * d;
        }
        double s = Math.Sqrt(dv / (training.Length - 1));
        return new SeriesScaler(method, 0, s > 0 && double.IsFinite(s) ? s : 1.0);
    }

    /// <summary>
    /// One window: <paramref name="raw"/> holds <see cref="Lookback"/> + window input values, then (optionally) the
    /// targets; writes the model inputs into <paramref name="x"/> (window values) and the scaled targets into
    /// <paramref name="y"/> (the raw values after the inputs; pass an empty span to skip them).
    /// </summary>
    /// <exception cref="ArgumentException">The spans' lengths do not fit together.</exception>
    public void Transform(ReadOnlySpan<float> raw, Span<float> x, Span<float> y)
    {
        int w = x.Length, lb = Lookback;
        if (w == 0) throw new ArgumentException("the window must hold at least one value.", nameof(x));
        if (raw.Length != lb + w + y.Length)
            throw new ArgumentException($"raw has {raw.Length} values; {lb} lookback + {w} inputs + {y.Length} targets expected.", nameof(raw));
        if (Method == SeriesScaling.Difference)
        {
            for (int i = 0; i < w; i++) x[i] = (float)(((double)raw[i + 1] - raw[i]) / Scale);
            for (int k = 0; k < y.Length; k++) y[k] = (float)(((double)raw[w + 1 + k] - raw[w + k]) / Scale);
            return;
        }
        double reference = Reference(raw.Slice(lb, w));
        for (int i = 0; i < w; i++) x[i] = (float)((raw[lb + i] - reference) / Scale);
        for (int k = 0; k < y.Length; k++) y[k] = (float)((raw[lb + w + k] - reference) / Scale);
    }

    /// <summary>
    /// Turns a model output back into series values: <paramref name="history"/> is the raw window the model read
    /// (<see cref="Lookback"/> + window values), <paramref name="output"/> the model's forecast for it.
    /// </summary>
    public void Inverse(ReadOnlySpan<float> history, ReadOnlySpan<float> output, Span<float> forecast)
    {
        if (forecast.Length != output.Length) throw new ArgumentException($"forecast has {forecast.Length} places for {output.Length} outputs.", nameof(forecast));
        if (history.Length <= Lookback) throw new ArgumentException($"history has {history.Length} values; at least {Lookback + 1} needed.", nameof(history));
        if (Method == SeriesScaling.Difference)
        {
            double level = history[^1];
            for (int k = 0; k < output.Length; k++)
            {
                level += output[k] * Scale;
                forecast[k] = (float)level;
            }
            return;
        }
        double reference = Reference(history[Lookback..]);
        for (int k = 0; k < output.Length; k++) forecast[k] = (float)(output[k] * Scale + reference);
    }

    private double Reference(ReadOnlySpan<float> inputs)
    {
        switch (Method)
        {
            case SeriesScaling.Standard: return Center;
            case SeriesScaling.LastValue: return inputs[^1];
            default:
                double sum = 0;
                foreach (var v in inputs) sum += v;
                return sum / inputs.Length;
        }
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{NameOf(Method)} (center {Center:R}, scale {Scale:R})");
}
