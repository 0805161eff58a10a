using Rnnx.Random;

namespace Rnnx.Data;

/// <summary>
/// Inputs and targets of one dataset split, as flat float32 arrays in C (row-major) order with their shapes.
/// </summary>
/// <remarks>Equality is record equality, i.e. by array reference, not by content.</remarks>
/// <param name="X">The inputs, flat, laid out as <paramref name="XShape"/>.</param>
/// <param name="XShape">The shape of <paramref name="X"/>; its first dimension is the number of samples.</param>
/// <param name="Y">The targets, flat, laid out as <paramref name="YShape"/>.</param>
/// <param name="YShape">The shape of <paramref name="Y"/>; its first dimension is the number of samples.</param>
public sealed record DataSplit(float[] X, int[] XShape, float[] Y, int[] YShape)
{
    /// <summary>The number of samples (the first dimension of <see cref="XShape"/>).</summary>
    public int Count => XShape[0];
}

/// <summary>The notebook's one-step-ahead forecasting data (see <see cref="ChapterData.OneStep"/>).</summary>
/// <param name="MockSeries">The three illustration series drawn first, flat <c>(3, 100, 1)</c>.</param>
/// <param name="MockSeriesShape">The shape of <paramref name="MockSeries"/>: <c>[3, 100, 1]</c>.</param>
/// <param name="Train">Samples 0..6999: X <c>(7000, 50, 1)</c>, y <c>(7000, 1)</c>.</param>
/// <param name="Valid">Samples 7000..8999: X <c>(2000, 50, 1)</c>, y <c>(2000, 1)</c>.</param>
/// <param name="Test">Samples 9000..9999: X <c>(1000, 50, 1)</c>, y <c>(1000, 1)</c>.</param>
public sealed record OneStepData(float[] MockSeries, int[] MockSeriesShape, DataSplit Train, DataSplit Valid, DataSplit Test);

/// <summary>The notebook's ten-steps-ahead forecasting data (see <see cref="ChapterData.TenStep"/>).</summary>
/// <remarks>
/// The vector and sequence splits of the same range share one X array (the same instance); treat the arrays as
/// read-only or copy them before modifying.
/// </remarks>
/// <param name="Train">Samples 0..6999 with vector targets: X <c>(7000, 50, 1)</c>, Y <c>(7000, 10)</c>.</param>
/// <param name="Valid">Samples 7000..8999 with vector targets: X <c>(2000, 50, 1)</c>, Y <c>(2000, 10)</c>.</param>
/// <param name="Test">Samples 9000..9999 with vector targets: X <c>(1000, 50, 1)</c>, Y <c>(1000, 10)</c>.</param>
/// <param name="TrainSequence">Samples 0..6999 with sequence targets: X <c>(7000, 50, 1)</c>, Y <c>(7000, 50, 10)</c>.</param>
/// <param name="ValidSequence">Samples 7000..8999 with sequence targets: X <c>(2000, 50, 1)</c>, Y <c>(2000, 50, 10)</c>.</param>
/// <param name="TestSequence">Samples 9000..9999 with sequence targets: X <c>(1000, 50, 1)</c>, Y <c>(1000, 50, 10)</c>.</param>
public sealed record TenStepData(
    DataSplit Train, DataSplit Valid, DataSplit Test,
    DataSplit TrainSequence, DataSplit ValidSequence, DataSplit TestSequence);

/// <summary>
/// Replays the notebook's calls to <c>np.random.seed</c> and <c>generate_time_series</c> and returns its datasets,
/// bit-for-bit (see <see cref="TimeSeries.Generate"/>).
/// </summary>
public static class ChapterData
{
    /// <summary>Number of input time steps per sample (<c>n_steps = 50</c>).</summary>
    public const int InputSteps = 50;

    /// <summary>Number of future steps forecast by the ten-step models.</summary>
    public const int Horizon = 10;

    /// <summary>Total number of generated series in the one-step and ten-step datasets.</summary>
    public const int SeriesCount = 10000;

    /// <summary>Number of training samples (samples <c>[0, 7000)</c>).</summary>
    public const int TrainCount = 7000;

    /// <summary>Number of validation samples (samples <c>[7000, 9000)</c>); the rest are test samples.</summary>
    public const int ValidCount = 2000;

    /// <summary>
    /// One-step-ahead data: <c>np.random.seed(0)</c>; <c>generate_time_series(3, 100)</c> (the mock series);
    /// <c>series = generate_time_series(10000, 51)</c>; <c>X = series[:, :50]</c>, <c>y = series[:, -1]</c>;
    /// splits <c>[:7000]</c>, <c>[7000:9000]</c>, <c>[9000:]</c>.
    /// </summary>
    /// <returns>The mock series and the three splits.</returns>
    public static OneStepData OneStep()
    {
        var rng = new NumPyRandomState(0);
        float[] mock = TimeSeries.Generate(rng, 3, 100);
        const int steps = InputSteps + 1;
        float[] series = TimeSeries.Generate(rng, SeriesCount, steps);

        DataSplit Split(int start, int count)
        {
            float[] x = SliceSteps(series, steps, start, count, 0, InputSteps);
            float[] y = SliceSteps(series, steps, start, count, steps - 1, 1);
            return new DataSplit(x, [count, InputSteps, 1], y, [count, 1]);
        }

        return new OneStepData(mock, [3, 100, 1],
            Split(0, TrainCount), Split(TrainCount, ValidCount), Split(TrainCount + ValidCount, SeriesCount - TrainCount - ValidCount));
    }

    /// <summary>
    /// Ten-steps-ahead data: <c>np.random.seed(0)</c>; <c>series = generate_time_series(10000, 60)</c>;
    /// <c>X = series[:, :50]</c>; vector targets <c>Y = series[:, -10:, 0]</c>; sequence targets
    /// <c>Y[n, t, k - 1] = series[n, t + k, 0]</c> for <c>k = 1..10</c>, <c>t = 0..49</c>;
    /// splits <c>[:7000]</c>, <c>[7000:9000]</c>, <c>[9000:]</c>.
    /// </summary>
    /// <returns>The vector-target and sequence-target splits.</returns>
    public static TenStepData TenStep()
    {
        var rng = new NumPyRandomState(0);
        const int steps = InputSteps + Horizon;
        float[] series = TimeSeries.Generate(rng, SeriesCount, steps);

        (DataSplit Vector, DataSplit Sequence) Split(int start, int count)
        {
            float[] x = SliceSteps(series, steps, start, count, 0, InputSteps);
            float[] y = SliceSteps(series, steps, start, count, InputSteps, Horizon);
            var ySeq = new float[count * InputSteps * Horizon];
            for (int n = 0; n < count; n++)
            {
                ReadOnlySpan<float> source = series.AsSpan((start + n) * steps, steps);
                Span<float> target = ySeq.AsSpan(n * InputSteps * Horizon, InputSteps * Horizon);
                for (int t = 0; t < InputSteps; t++)
                {
                    source.Slice(t + 1, Horizon).CopyTo(target.Slice(t * Horizon, Horizon));
                }
            }
            return (new DataSplit(x, [count, InputSteps, 1], y, [count, Horizon]),
                    new DataSplit(x, [count, InputSteps, 1], ySeq, [count, InputSteps, Horizon]));
        }

        var train = Split(0, TrainCount);
        var valid = Split(TrainCount, ValidCount);
        var test = Split(TrainCount + ValidCount, SeriesCount - TrainCount - ValidCount);
        return new TenStepData(train.Vector, valid.Vector, test.Vector, train.Sequence, valid.Sequence, test.Sequence);
    }

    /// <summary>
    /// The new series forecast at the end of the chapter: <c>np.random.seed(23)</c>;
    /// <c>series = generate_time_series(1, 60)</c>; <c>X_new = series[:, :50]</c>, <c>Y_new = series[:, 50:]</c>.
    /// </summary>
    /// <returns>X <c>(1, 50, 1)</c> and Y <c>(1, 10, 1)</c>.</returns>
    public static DataSplit NewSeries()
    {
        var rng = new NumPyRandomState(23);
        const int steps = InputSteps + Horizon;
        float[] series = TimeSeries.Generate(rng, 1, steps);
        return new DataSplit(
            SliceSteps(series, steps, 0, 1, 0, InputSteps), [1, InputSteps, 1],
            SliceSteps(series, steps, 0, 1, InputSteps, Horizon), [1, Horizon, 1]);
    }

    /// <summary>Copies <c>series[start:start+count, firstStep:firstStep+stepCount]</c> of a flat <c>(N, steps)</c> array.</summary>
    private static float[] SliceSteps(float[] series, int steps, int start, int count, int firstStep, int stepCount)
    {
        var result = new float[count * stepCount];
        for (int n = 0; n < count; n++)
        {
            series.AsSpan((start + n) * steps + firstStep, stepCount).CopyTo(result.AsSpan(n * stepCount, stepCount));
        }
        return result;
    }
}
