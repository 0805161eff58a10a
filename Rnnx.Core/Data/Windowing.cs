namespace Rnnx.Data;

/// <summary>
/// Sliding windows over a univariate time series for forecasting, like Keras's
/// <c>timeseries_dataset_from_array</c>: each sample is <c>window</c> consecutive values (inputs) followed by the next
/// <c>horizon</c> values (targets).
/// </summary>
public static class Windowing
{
    /// <summary>
    /// Windows over <paramref name="series"/>: X (N, window, 1) and Y (N, horizon), window i starting at i·stride, with
    /// N = ⌊(length − window − horizon) / stride⌋ + 1.
    /// </summary>
    /// <param name="series">The values, oldest first.</param>
    /// <param name="window">Input steps per sample.</param>
    /// <param name="horizon">Target steps per sample (1 for one-step forecasting).</param>
    /// <param name="stride">Distance between the starts of consecutive windows.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="ArgumentException">The series is shorter than window + horizon (the message gives both).</exception>
    public static DataSplit Make(ReadOnlySpan<float> series, int window, int horizon, int stride = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(horizon);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        if (series.Length < window + horizon)
            throw new ArgumentException(
                $"The series has {series.Length} values; windows of {window} inputs and {horizon} targets need at least {window + horizon}.", nameof(series));
        int n = (series.Length - window - horizon) / stride + 1;
        var x = new float[n * window];
        var y = new float[n * horizon];
        for (int i = 0; i < n; i++)
        {
            int s = i * stride;
            series.Slice(s, window).CopyTo(x.AsSpan(i * window));
            series.Slice(s + window, horizon).CopyTo(y.AsSpan(i * horizon));
        }
        return new DataSplit(x, [n, window, 1], y, [n, horizon]);
    }

    /// <summary>
    /// Splits the series in time order and windows each part: the last <paramref name="validationFraction"/> of the
    /// values are validation targets, so no validation target is ever seen in training. Validation windows may take
    /// their inputs from the end of the training part (as a forecast at that time would).
    /// </summary>
    /// <param name="series">The values, oldest first.</param>
    /// <param name="window">Input steps per sample.</param>
    /// <param name="horizon">Target steps per sample.</param>
    /// <param name="validationFraction">Share of the values whose windows form the validation set, in (0, 1).</param>
    /// <param name="stride">Distance between window starts.</param>
    /// <exception cref="ArgumentException">Either part is too short for one window (the message gives the lengths needed).</exception>
    public static (DataSplit Train, DataSplit Valid) MakeSplit(ReadOnlySpan<float> series, int window, int horizon, double validationFraction = 0.2, int stride = 1)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "validationFraction must be in (0, 1).");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(horizon);
        int validCount = (int)Math.Round(series.Length * validationFraction);
        int cut = series.Length - validCount;
        if (cut < window + horizon || validCount < horizon)
            throw new ArgumentException(
                $"The series has {series.Length} values; with {validationFraction:P0} kept for validation, windows of {window} inputs and {horizon} targets " +
                $"need at least {MinimumLength(window, horizon, validationFraction)} values.", nameof(series));
        var train = Make(series[..cut], window, horizon, stride);
        var valid = Make(series[(cut - window)..], window, horizon, stride);
        return (train, valid);
    }

    /// <summary>The shortest series that <see cref="MakeSplit"/> accepts for these sizes.</summary>
    public static int MinimumLength(int window, int horizon, double validationFraction)
    {
        for (int n = window + horizon; ; n++)
        {
            int validCount = (int)Math.Round(n * validationFraction);
            if (n - validCount >= window + horizon && validCount >= horizon) return n;
        }
    }

    /// <summary>Mean and (population) standard deviation of a series, for standardizing it before training; std is 1 for a constant series.</summary>
    public static (double Mean, double Std) Statistics(ReadOnlySpan<float> series)
    {
        if (series.IsEmpty) throw new ArgumentException("The series is empty.", nameof(series));
        double mean = 0;
        foreach (var v in series) mean += v;
        mean /= series.Length;
        double var = 0;
        foreach (var v in series) var += (v - mean) * (v - mean);
        double std = Math.Sqrt(var / series.Length);
        return (mean, std > 0 && double.IsFinite(std) ? std : 1.0);
    }
}
