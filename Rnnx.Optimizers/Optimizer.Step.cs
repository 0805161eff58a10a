using System.Numerics;
using System.Runtime.CompilerServices;
using Rnnx.Threading;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Rnnx.Optimizers;

public abstract partial class Optimizer
{
    /// <summary>
    /// Elements per range of a parameter: the unit of work an element-wise update is cut into. Fixed (never derived
    /// from a thread count); a multiple of every vector width, so each element sees the same arithmetic in any range.
    /// </summary>
    internal const int ElementsPerRange = 8192;

    /// <summary>Below this many updated elements a step runs on the calling thread alone (waking threads costs more).</summary>
    internal const int ParallelMinimumElements = 1 << 16;

    private enum RangeWork { Update, Sum, UpdateFromSum }

    private readonly List<(Parameter Parameter, SlotSet Slots)> _stepEntries = [];
    private readonly List<(int Entry, int Offset, int Length)> _stepRanges = [];
    private Gradients[] _stepParts = [];
    private int _stepPartCount;
    private RangeWork _stepWork;
    private double _stepLearningRate;
    private long _stepNumber;
    private Action<int>? _runRange;

    /// <summary>
    /// Whether <see cref="Update(in ParameterUpdate{float})"/> computes each element from that element alone (its value,
    /// gradient and slots, and the step's scalars) and may run concurrently on disjoint ranges. Then a step cuts each
    /// parameter into fixed element ranges, updates them on the runner's threads, and passes the sum of two shard
    /// gradients as a <see cref="GradientSource{T}"/> read while updating. False (the default) for subclasses: each
    /// parameter is updated whole, on the calling thread, from a gradient in one span.
    /// </summary>
    protected virtual bool UpdatesElementwise => false;

    /// <summary>Applies one update to every trainable parameter in <paramref name="parameters"/> that has a gradient.</summary>
    /// <param name="parameters">The parameters, in a fixed order (the order of <see cref="GetState"/>).</param>
    /// <param name="gradients">Their gradients, read but never modified.</param>
    /// <exception cref="ArgumentException">A parameter is null or appears twice.</exception>
    /// <exception cref="InvalidOperationException">
    /// A parameter's gradient cannot be read or has the wrong size; a parameter's dtype or shape changed since its
    /// state was created (call <see cref="ResetState"/>); no trainable parameter has a gradient; or the schedule
    /// returned an invalid learning rate. The message names the parameter. Nothing is modified.
    /// </exception>
    public void Step(IReadOnlyList<Parameter> parameters, Gradients gradients)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        StepCore(parameters, new ReadOnlySpan<Gradients>(in gradients), null);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException"><paramref name="parts"/> is empty or holds null; a parameter is null or appears twice.</exception>
    /// <exception cref="InvalidOperationException">As <see cref="Step(IReadOnlyList{Parameter}, Gradients)"/>, for any part. No parameter or state is modified.</exception>
    /// <remarks>
    /// A part that lacks a gradient another part holds is given a zero gradient for that parameter while the step is
    /// validated, on the calling thread, before any range runs: the threads then only read the parts' existing spans.
    /// </remarks>
    public void Step(IReadOnlyList<Parameter> parameters, ReadOnlySpan<Gradients> parts, IParallelRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        if (parts.IsEmpty) throw new ArgumentException($"{GetType().Name}.Step: no gradients were given (parts is empty).", nameof(parts));
        for (int i = 0; i < parts.Length; i++)
            if (parts[i] is null) throw new ArgumentException($"{GetType().Name}.Step: parts[{i}] is null.", nameof(parts));
        StepCore(parameters, parts, runner);
    }

    private void StepCore(IReadOnlyList<Parameter> parameters, ReadOnlySpan<Gradients> parts, IParallelRunner? runner)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        long stamp = ++_stamp;
        bool clipping = _clipNorm is not null || _globalClipNorm is not null || _clipValue is not null;
        // The summed gradient is written to the scratch buffers (and read back) only when it is clipped or the update
        // cannot read a sum; otherwise the update reads the parts themselves.
        bool scratch = (parts.Length > 1 && !UpdatesElementwise) || clipping;

        // Pass 1: validate everything and create missing state, before modifying anything.
        _stepEntries.Clear();
        bool anyTrainable = false;
        long elements = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i] ?? throw new ArgumentException($"{GetType().Name}.Step: parameters[{i}] is null.", nameof(parameters));
            if (!p.Trainable) continue;
            anyTrainable = true;
            bool has = false;
            foreach (var part in parts) has |= HasGradient(part, p);
            if (!has) continue;
            var slots = GetOrCreateSlots(p);
            if (slots.Stamp == stamp)
                throw new ArgumentException($"{GetType().Name}.Step: parameter '{p.Name}' appears more than once in the list.", nameof(parameters));
            slots.Stamp = stamp;
            foreach (var part in parts)
            {
                if (p.DType == DType.Float32) CheckGradient<float>(part, p);
                else CheckGradient<double>(part, p);
            }
            if (scratch || parts.Length > 2)
            {
                if (p.DType == DType.Float32) slots.Scratch<float>();
                else slots.Scratch<double>();
            }
            _stepEntries.Add((p, slots));
            elements += p.Size;
        }
        if (!anyTrainable) return;   // Keras: apply() with an empty gradient list is a no-op
        if (_stepEntries.Count == 0)
            throw new InvalidOperationException(
                $"{GetType().Name}.Step: no gradients were provided for any of the {parameters.Count} parameters " +
                "(did Backward run on a loss that depends on them?).");

        double learningRate = LearningRate;
        if (!double.IsFinite(learningRate) || learningRate < 0)
            throw new InvalidOperationException($"{GetType().Name}.Step: the learning-rate schedule returned {learningRate} at step {Iterations}; it must be finite and non-negative.");

        // Pass 2: update.
        long t = Iterations + 1;
        PrepareStep(t, learningRate);
        _stepLearningRate = learningRate;
        _stepNumber = t;
        if (_stepParts.Length < parts.Length) _stepParts = new Gradients[parts.Length];
        parts.CopyTo(_stepParts);
        _stepPartCount = parts.Length;
        if (elements < ParallelMinimumElements) runner = null;
        try
        {
            if (!scratch && UpdatesElementwise)
            {
                RunRanges(RangeWork.Update, runner);
            }
            else if (!scratch)
            {
                var g = _stepParts[0];
                foreach (var (p, slots) in _stepEntries)
                {
                    if (p.DType == DType.Float32) Update(new ParameterUpdate<float>(p, p.AsSpan<float>(), new(g.GetSpan<float>(p)), slots, 0, (float)learningRate, t));
                    else Update(new ParameterUpdate<double>(p, p.AsSpan<double>(), new(g.GetSpan<double>(p)), slots, 0, learningRate, t));
                }
            }
            else
            {
                if (parts.Length > 1) RunRanges(RangeWork.Sum, runner);
                // Norms cover whole parameters, in one order (the clipping options are defined on whole gradients).
                double globalNorm = _globalClipNorm is null ? 0 : GlobalNorm();
                foreach (var (p, slots) in _stepEntries)
                {
                    if (p.DType == DType.Float32) ClipInScratch<float>(p, slots, globalNorm);
                    else ClipInScratch<double>(p, slots, globalNorm);
                }
                if (UpdatesElementwise) RunRanges(RangeWork.UpdateFromSum, runner);
                else
                    foreach (var (p, slots) in _stepEntries)
                    {
                        if (p.DType == DType.Float32) Update(new ParameterUpdate<float>(p, p.AsSpan<float>(), new(slots.Scratch<float>()), slots, 0, (float)learningRate, t));
                        else Update(new ParameterUpdate<double>(p, p.AsSpan<double>(), new(slots.Scratch<double>()), slots, 0, learningRate, t));
                    }
            }
        }
        finally
        {
            Array.Clear(_stepParts);   // do not keep the tapes' gradients alive
        }
        Iterations = t;
    }

    /// <summary>Keras clip_by_global_norm's n: each summed gradient's squares accumulated in its dtype, the per-tensor sums added in double.</summary>
    private double GlobalNorm()
    {
        double sumOfSquares = 0;
        foreach (var (p, slots) in _stepEntries)
            sumOfSquares += p.DType == DType.Float32
                ? TP.SumOfSquares<float>(SummedGradient<float>(p, slots))
                : TP.SumOfSquares<double>(SummedGradient<double>(p, slots));
        return Math.Sqrt(sumOfSquares);
    }

    /// <summary>The whole gradient of <paramref name="p"/> before clipping: the scratch sum, or the one part's span.</summary>
    private ReadOnlySpan<T> SummedGradient<T>(Parameter p, SlotSet slots) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        _stepPartCount > 1 ? slots.Scratch<T>() : _stepParts[0].GetSpan<T>(p);

    /// <summary>Leaves the gradient of <paramref name="p"/> to use in its scratch buffer: clipped, or the unclipped sum.</summary>
    private void ClipInScratch<T>(Parameter p, SlotSet slots, double globalNorm) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var g = SummedGradient<T>(p, slots);
        var clipped = ClipGradient(g, slots, globalNorm);
        if (!clipped.Overlaps(slots.Scratch<T>())) clipped.CopyTo(slots.Scratch<T>());
    }

    /// <summary>Cuts the step's parameters into ranges and runs <paramref name="work"/> on each, on the runner or here.</summary>
    private void RunRanges(RangeWork work, IParallelRunner? runner)
    {
        _stepWork = work;
        _stepRanges.Clear();
        for (int e = 0; e < _stepEntries.Count; e++)
        {
            int size = _stepEntries[e].Parameter.Size;
            for (int offset = 0; offset < size; offset += ElementsPerRange)
                _stepRanges.Add((e, offset, Math.Min(ElementsPerRange, size - offset)));
        }
        var run = _runRange ??= RunRange;
        if (runner is null)
            for (int r = 0; r < _stepRanges.Count; r++) run(r);
        else runner.Run(_stepRanges.Count, run);
    }

    private void RunRange(int range)
    {
        var (entry, offset, length) = _stepRanges[range];
        var (p, slots) = _stepEntries[entry];
        if (p.DType == DType.Float32) RunRange(p, slots, offset, length, (float)_stepLearningRate);
        else RunRange(p, slots, offset, length, _stepLearningRate);
    }

    private void RunRange<T>(Parameter p, SlotSet slots, int offset, int length, T learningRate) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int parts = _stepPartCount;
        var value = p.AsSpan<T>().Slice(offset, length);
        switch (_stepWork)
        {
            case RangeWork.Sum:
            {
                // 0 + g0 + g1 + ...: Gradients.Add's sum into a cleared store.
                var sum = slots.Scratch<T>().Slice(offset, length);
                sum.Clear();
                for (int s = 0; s < parts; s++) TP.Add(sum, _stepParts[s].GetSpan<T>(p).Slice(offset, length), sum);
                return;
            }
            case RangeWork.UpdateFromSum:
                UpdateAs(new ParameterUpdate<T>(p, value, new(slots.Scratch<T>().Slice(offset, length)), slots, offset, learningRate, _stepNumber));
                return;
            default:
            {
                var last = _stepParts[parts - 1].GetSpan<T>(p).Slice(offset, length);
                if (parts == 1)
                {
                    UpdateAs(new ParameterUpdate<T>(p, value, new(last), slots, offset, learningRate, _stepNumber));
                    return;
                }
                ReadOnlySpan<T> first = _stepParts[0].GetSpan<T>(p).Slice(offset, length);
                if (parts > 2)
                {
                    // The parts before the last summed here (0 + g0 + ...): a sum started at +0 is never -0, so the
                    // source's own leading 0 + leaves it unchanged and the bits are those of one sum over all parts.
                    var sum = slots.Scratch<T>().Slice(offset, length);
                    sum.Clear();
                    for (int s = 0; s < parts - 1; s++) TP.Add(sum, _stepParts[s].GetSpan<T>(p).Slice(offset, length), sum);
                    first = sum;
                }
                UpdateAs(new ParameterUpdate<T>(p, value, new(first, last), slots, offset, learningRate, _stepNumber));
                return;
            }
        }
    }

    /// <summary>The dtype's <see cref="Update(in ParameterUpdate{float})"/> for a generic update (T is float or double).</summary>
    private void UpdateAs<T>(ParameterUpdate<T> update) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) Update(in Unsafe.As<ParameterUpdate<T>, ParameterUpdate<float>>(ref update));
        else Update(in Unsafe.As<ParameterUpdate<T>, ParameterUpdate<double>>(ref update));
    }
}
