using Rnnx.Random;

namespace Rnnx.Data;

/// <summary>
/// The chapter's synthetic time series: two sine waves with random frequencies and phases plus uniform noise,
/// generated bit-for-bit like the notebook's <c>generate_time_series</c> under numpy's legacy global generator.
/// </summary>
public static class TimeSeries
{
    /// <summary>
    /// Generates <paramref name="batchSize"/> series of <paramref name="nSteps"/> steps exactly like the notebook:
    /// <code>
    /// freq1, freq2, offsets1, offsets2 = np.random.rand(4, batch_size, 1)
    /// time = np.linspace(0, 1, n_steps)
    /// series = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))
    /// series += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))
    /// series += 0.1 * (np.random.rand(batch_size, n_steps) - 0.5)
    /// return series[..., np.newaxis].astype(np.float32)
    /// </code>
    /// Everything is evaluated in float64 in numpy's operation order and rounded to float32 at the end.
    /// Consumes <c>4 * batchSize + batchSize * nSteps</c> doubles from <paramref name="rng"/>.
    /// </summary>
    /// <param name="rng">The generator, standing in for numpy's global <c>np.random</c> state; it is advanced.</param>
    /// <param name="batchSize">Number of series; must be positive.</param>
    /// <param name="nSteps">Number of time steps per series; must be positive.</param>
    /// <returns>The flat <c>(batchSize, nSteps, 1)</c> float32 array in C order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="rng"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="batchSize"/> or <paramref name="nSteps"/> is not positive, or the result would be too large.
    /// </exception>
    public static float[] Generate(NumPyRandomState rng, int batchSize, int nSteps)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(nSteps);
        if ((long)batchSize * Math.Max(nSteps, 4) > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize,
                $"batchSize ({batchSize}) times max(nSteps, 4) ({Math.Max(nSteps, 4)}) exceeds the maximum array length.");
        }

        // np.random.rand(4, batch_size, 1): freq1, freq2, offsets1, offsets2 are consecutive blocks of batchSize values.
        var parameters = new double[4 * batchSize];
        rng.Rand(parameters);
        ReadOnlySpan<double> freq1 = parameters.AsSpan(0, batchSize);
        ReadOnlySpan<double> freq2 = parameters.AsSpan(batchSize, batchSize);
        ReadOnlySpan<double> offsets1 = parameters.AsSpan(2 * batchSize, batchSize);
        ReadOnlySpan<double> offsets2 = parameters.AsSpan(3 * batchSize, batchSize);

        double[] time = Linspace01(nSteps);
        var result = new float[batchSize * nSteps];
        var noise = new double[nSteps];

        for (int b = 0; b < batchSize; b++)
        {
            // Row b of np.random.rand(batch_size, n_steps), drawn in C order after the parameters.
            rng.Rand(noise);
            double omega1 = freq1[b] * 10.0 + 10.0;
            double omega2 = freq2[b] * 20.0 + 20.0;
            double phase1 = offsets1[b];
            double phase2 = offsets2[b];
            Span<float> row = result.AsSpan(b * nSteps, nSteps);
            for (int t = 0; t < nSteps; t++)
            {
                double series = 0.5 * Math.Sin((time[t] - phase1) * omega1);
                series += 0.2 * Math.Sin((time[t] - phase2) * omega2);
                series += 0.1 * (noise[t] - 0.5);
                row[t] = (float)series;
            }
        }
        return result;
    }

    /// <summary>
    /// <c>np.linspace(0, 1, n)</c>: <c>arange(n) * (1.0 / (n - 1)) + 0.0</c> with the last element set to exactly 1.0;
    /// a single step yields <c>[0.0]</c>.
    /// </summary>
    private static double[] Linspace01(int n)
    {
        var time = new double[n];
        if (n == 1)
        {
            return time;
        }
        double step = 1.0 / (n - 1);
        for (int i = 0; i < n; i++)
        {
            time[i] = i * step + 0.0;
        }
        time[n - 1] = 1.0;
        return time;
    }
}
