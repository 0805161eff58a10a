using Rnnx.Data;

namespace Rnnx.Forecasting;

/// <summary>
/// The reference forecasts every model is compared with (Hyndman &amp; Athanasopoulos, "Forecasting: Principles and
/// Practice", 3rd ed., section 5.2): naive (every step equals the last observed value) and seasonal naive (every step
/// equals the observation one season earlier). Both read the series before each sample's first target, as a forecast
/// made at that time could.
/// </summary>
public static class Baselines
{
    /// <summary>Naive forecasts of every sample of <paramref name="windows"/>: (count × horizon), row-major.</summary>
    public static float[] Naive(SeriesWindows windows)
    {
        ArgumentNullException.ThrowIfNull(windows);
        var series = windows.Series;
        var f = new float[windows.Count * windows.Horizon];
        for (int i = 0; i < windows.Count; i++)
            f.AsSpan(i * windows.Horizon, windows.Horizon).Fill(series[windows.TargetIndex(i) - 1]);
        return f;
    }

    /// <summary>
    /// Seasonal-naive forecasts: step k (0-based) of a sample whose first target is t gets
    /// y[t + k − m·⌈(k + 1)/m⌉], the last observed value of the same season.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="season"/> is not positive or reaches before the series for the first sample.</exception>
    public static float[] SeasonalNaive(SeriesWindows windows, int season)
    {
        ArgumentNullException.ThrowIfNull(windows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(season);
        if (season > windows.FirstTarget)
            throw new ArgumentOutOfRangeException(nameof(season), season, $"a season of {season} reaches before the start of the series (the first forecast is at index {windows.FirstTarget}).");
        var series = windows.Series;
        int h = windows.Horizon;
        var f = new float[windows.Count * h];
        for (int i = 0; i < windows.Count; i++)
        {
            int t = windows.TargetIndex(i);
            for (int k = 0; k < h; k++) f[i * h + k] = series[t + k - season * ((k + season) / season)];
        }
        return f;
    }

    /// <summary>
    /// The season of a series from its autocorrelation: the lag in [2, <paramref name="maxLag"/>] with the highest
    /// autocorrelation of the first differences (differencing removes a trend, which would otherwise make every lag
    /// look alike) among the local peaks, if that autocorrelation is at least <paramref name="threshold"/>; else 1
    /// (no season, so seasonal naive is naive).
    /// </summary>
    /// <param name="training">The values to look at (the training part only: the test part must stay unseen).</param>
    /// <param name="maxLag">The longest season considered; at most a third of the values are used as lags.</param>
    /// <param name="threshold">The smallest autocorrelation that counts as a season.</param>
    public static int DetectSeason(ReadOnlySpan<float> training, int maxLag = 400, double threshold = 0.2)
    {
        int n = training.Length - 1;
        if (n < 6) return 1;
        var d = new double[n];
        double mean = 0;
        for (int i = 0; i < n; i++) mean += d[i] = (double)training[i + 1] - training[i];
        mean /= n;
        double var = 0;
        for (int i = 0; i < n; i++) var += (d[i] -= mean) * d[i];
        if (!(var > 0)) return 1;
        int top = Math.Min(maxLag, n / 3);
        var acf = new double[top + 2];
        for (int lag = 1; lag <= Math.Min(top + 1, n - 1); lag++)
        {
            double s = 0;
            for (int i = lag; i < n; i++) s += d[i] * d[i - lag];
            acf[lag] = s / var;
        }
        int best = 1;
        double bestAcf = threshold;
        for (int lag = 2; lag <= top; lag++)
            if (acf[lag] >= bestAcf && acf[lag] > acf[lag - 1] && acf[lag] >= acf[lag + 1])
            {
                best = lag;
                bestAcf = acf[lag];
            }
        return best;
    }
}
