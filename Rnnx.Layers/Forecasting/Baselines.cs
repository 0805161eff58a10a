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
    /// The season of a series from its autocorrelation function (ACF), in three steps.
    /// <list type="number">
    /// <item>The values minus their least-squares quadratic trend (a trend would otherwise make every lag look alike).
    /// When a unit root dominates what is left (a wandering level: the mean ACF over the lags looked at exceeds
    /// <see cref="UnitRootMeanAcf"/>, where a stationary series averages near 0), the first differences are used
    /// instead, as for the "I" of ARIMA: differencing removes the walk and keeps the season's period.</item>
    /// <item>Among the lags in [2, <paramref name="maxLag"/>] after the ACF first turns negative (a smooth season's
    /// ACF stays high over the first lags, where sampling noise makes spurious peaks) where the ACF has a local peak
    /// of at least <paramref name="threshold"/>, the shortest whose ACF is within 80% of the highest peak (so a
    /// season wins over its multiples).</item>
    /// <item>That lag m refined, within m ± max(2, m/4), by the mean ACF at its multiples: a weak season's sampled
    /// ACF peak can sit a lag or more off, but only the true period keeps every multiple aligned.</item>
    /// </list>
    /// 1 (no season: seasonal naive is naive) when no lag qualifies.
    /// </summary>
    /// <param name="training">The values to look at (the training part only: the test part must stay unseen).</param>
    /// <param name="maxLag">The longest season considered; at most a third of the values are used as lags.</param>
    /// <param name="threshold">The smallest autocorrelation that counts as a season.</param>
    public static int DetectSeason(ReadOnlySpan<float> training, int maxLag = 400, double threshold = 0.2)
    {
        int n = training.Length;
        if (n < 9) return 1;
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = training[i];
        var acf = Acf(Detrended(values), Math.Min(maxLag, n / 3));
        if (acf is not null && acf.Skip(1).Take(acf.Length - 2).Average() > UnitRootMeanAcf)
        {
            var differences = new double[n - 1];
            for (int i = 1; i < n; i++) differences[i - 1] = values[i] - values[i - 1];
            acf = Acf(Detrended(differences), Math.Min(maxLag, (n - 1) / 3));
        }
        if (acf is null) return 1;
        int top = acf.Length - 2;
        int firstNegative = 1;
        while (firstNegative < top && acf[firstNegative] >= 0) firstNegative++;
        if (acf[firstNegative] >= 0) firstNegative = 1;   // never negative: look at every lag
        var peaks = new List<int>();
        for (int lag = Math.Max(2, firstNegative); lag <= top; lag++)
            if (acf[lag] >= threshold && acf[lag] > acf[lag - 1] && acf[lag] >= acf[lag + 1]) peaks.Add(lag);
        if (peaks.Count == 0) return 1;
        double highest = peaks.Max(l => acf[l]);
        int season = peaks.First(l => acf[l] >= 0.8 * highest);
        int reach = Math.Max(2, season / 4);
        int multiples = Math.Max(1, top / (season + reach));
        double MultiplesMean(int m)
        {
            double sum = 0;
            int count = 0;
            for (int k = 1; k <= multiples && k * m <= top + 1; k++, count++) sum += acf[k * m];
            return sum / count;
        }
        int best = season;
        for (int m = Math.Max(2, season - reach); m <= Math.Min(season + reach, top + 1); m++)
            if (MultiplesMean(m) > MultiplesMean(best) || (MultiplesMean(m) == MultiplesMean(best) && m < best)) best = m;
        return best;
    }

    /// <summary>The mean ACF over the lags looked at above which <see cref="DetectSeason"/> treats the level as a random walk and differences it.</summary>
    public const double UnitRootMeanAcf = 0.05;

    /// <summary>The ACF of <paramref name="d"/> (centered) at lags 0..top + 1, or null when it is constant or top &lt; 2.</summary>
    private static double[]? Acf(double[] d, int top)
    {
        if (top < 2) return null;
        double var = 0;
        foreach (var v in d) var += v * v;
        if (!(var > 0)) return null;
        var acf = new double[top + 2];
        acf[0] = 1;
        for (int lag = 1; lag <= top + 1; lag++)
        {
            double s = 0;
            for (int i = lag; i < d.Length; i++) s += d[i] * d[i - lag];
            acf[lag] = s / var;
        }
        return acf;
    }

    /// <summary>The values minus their least-squares quadratic in time (then centered).</summary>
    private static double[] Detrended(double[] x)
    {
        int n = x.Length;
        // Normal equations for a + b t + c t² on t in [-1, 1] (well conditioned), solved by Cramer's rule.
        double s0 = n, s1 = 0, s2 = 0, s3 = 0, s4 = 0, y0 = 0, y1 = 0, y2 = 0;
        for (int i = 0; i < n; i++)
        {
            double t = n == 1 ? 0 : 2.0 * i / (n - 1) - 1, t2 = t * t;
            s1 += t; s2 += t2; s3 += t2 * t; s4 += t2 * t2;
            y0 += x[i]; y1 += x[i] * t; y2 += x[i] * t2;
        }
        static double Det(double a, double b, double c, double d, double e, double f, double g, double h, double k) =>
            a * (e * k - f * h) - b * (d * k - f * g) + c * (d * h - e * g);
        double det = Det(s0, s1, s2, s1, s2, s3, s2, s3, s4);
        double ca = Det(y0, s1, s2, y1, s2, s3, y2, s3, s4) / det;
        double cb = Det(s0, y0, s2, s1, y1, s3, s2, y2, s4) / det;
        double cc = Det(s0, s1, y0, s1, s2, y1, s2, s3, y2) / det;
        var d = new double[n];
        double mean = 0;
        for (int i = 0; i < n; i++)
        {
            double t = n == 1 ? 0 : 2.0 * i / (n - 1) - 1;
            mean += d[i] = x[i] - (ca + cb * t + cc * t * t);
        }
        mean /= n;
        for (int i = 0; i < n; i++) d[i] -= mean;
        return d;
    }
}
