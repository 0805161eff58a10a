namespace Rnnx.Cli;

/// <summary>
/// The notebook's evaluation arithmetic in float32: <c>np.mean(keras.losses.mean_squared_error(Y, Y_pred))</c>,
/// i.e. a per-position mean of squared errors over the last axis, then numpy's pairwise float32 mean.
/// </summary>
internal static class KerasMath
{
    /// <summary>
    /// <c>np.mean(keras.losses.mean_squared_error(yTrue, yPred))</c> for flat arrays whose last axis has
    /// <paramref name="lastDim"/> elements.
    /// </summary>
    /// <exception cref="ArgumentException">The arrays differ in length or are not a whole number of rows.</exception>
    public static float MeanSquaredError(ReadOnlySpan<float> yTrue, ReadOnlySpan<float> yPred, int lastDim)
    {
        if (yTrue.Length != yPred.Length)
            throw new ArgumentException($"mean_squared_error: {yTrue.Length} targets but {yPred.Length} predictions.");
        if (lastDim <= 0 || yTrue.Length == 0 || yTrue.Length % lastDim != 0)
            throw new ArgumentException($"mean_squared_error: {yTrue.Length} values do not form rows of {lastDim}.");
        var perPosition = new float[yTrue.Length / lastDim];
        for (int i = 0; i < perPosition.Length; i++)
        {
            float sum = 0f;
            for (int k = 0; k < lastDim; k++)
            {
                float d = yPred[i * lastDim + k] - yTrue[i * lastDim + k];
                sum += d * d;
            }
            perPosition[i] = sum / lastDim;
        }
        return Mean(perPosition);
    }

    /// <summary>
    /// The MSE of the last time step only: <c>mean(mse(Y[:, -1], Y_pred[:, -1]))</c> for (samples, steps, lastDim) arrays.
    /// </summary>
    public static float LastTimeStepMse(ReadOnlySpan<float> yTrue, ReadOnlySpan<float> yPred, int samples, int steps, int lastDim)
    {
        if (yTrue.Length != samples * steps * lastDim || yPred.Length != yTrue.Length)
            throw new ArgumentException($"last_time_step_mse: expected {samples}x{steps}x{lastDim} values, got {yTrue.Length} and {yPred.Length}.");
        var t = new float[samples * lastDim];
        var p = new float[samples * lastDim];
        for (int n = 0; n < samples; n++)
        {
            int src = (n * steps + steps - 1) * lastDim;
            yTrue.Slice(src, lastDim).CopyTo(t.AsSpan(n * lastDim));
            yPred.Slice(src, lastDim).CopyTo(p.AsSpan(n * lastDim));
        }
        return MeanSquaredError(t, p, lastDim);
    }

    /// <summary><c>np.mean</c> of a contiguous float32 array: numpy's pairwise sum in float32, divided by the count in float32.</summary>
    public static float Mean(ReadOnlySpan<float> values) => PairwiseSum(values) / values.Length;

    /// <summary>numpy's <c>pairwise_sum</c> for float32 (blocks of 128 with eight accumulators, halves split on multiples of 8).</summary>
    public static float PairwiseSum(ReadOnlySpan<float> a)
    {
        int n = a.Length;
        if (n < 8)
        {
            float res = 0f;
            for (int i = 0; i < n; i++) res += a[i];
            return res;
        }
        if (n <= 128)
        {
            float r0 = a[0], r1 = a[1], r2 = a[2], r3 = a[3], r4 = a[4], r5 = a[5], r6 = a[6], r7 = a[7];
            int i;
            for (i = 8; i < n - n % 8; i += 8)
            {
                r0 += a[i]; r1 += a[i + 1]; r2 += a[i + 2]; r3 += a[i + 3];
                r4 += a[i + 4]; r5 += a[i + 5]; r6 += a[i + 6]; r7 += a[i + 7];
            }
            float res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
            for (; i < n; i++) res += a[i];
            return res;
        }
        int n2 = n / 2;
        n2 -= n2 % 8;
        return PairwiseSum(a[..n2]) + PairwiseSum(a[n2..]);
    }
}
