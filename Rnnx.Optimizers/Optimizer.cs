using System.Numerics;
using Rnnx.Optimization;
using TP = System.Numerics.Tensors.TensorPrimitives;

namespace Rnnx.Optimizers;

/// <summary>
/// Base class of the Keras-compatible optimizers: per-parameter state slots, learning rate or schedule, step counter,
/// gradient clipping, and checkpoint export/import (<see cref="ICheckpointableOptimizer"/>, the Core contract that model
/// saving uses). Subclasses implement the update formula in
/// <see cref="Update(in ParameterUpdate{float})"/> and <see cref="Update(in ParameterUpdate{double})"/>
/// (usually both forwarding to one generic method) and may precompute per-step scalars in <see cref="PrepareStep"/>.
/// </summary>
/// <remarks>
/// <para>What one <see cref="Step(IReadOnlyList{Parameter}, Gradients)"/> does, following Keras 3's <c>BaseOptimizer.apply</c> (keras-team/keras
/// <c>keras/src/optimizers/base_optimizer.py</c>):</para>
/// <list type="number">
/// <item>Parameters with <see cref="Parameter.Trainable"/> = false are ignored. Trainable parameters that received no
/// gradient in this pass (<see cref="Gradients.Contains(Parameter)"/> is false) are skipped entirely, moments
/// included, as Keras skips variables whose gradient is <c>None</c>. If no trainable parameter has a gradient, the
/// step throws, as Keras does; if the list holds no trainable parameter at all, the step does nothing.</item>
/// <item>Everything is validated before anything is modified, so a failed step leaves parameters and state unchanged.</item>
/// <item>Gradients are clipped (<see cref="ClipNorm"/>, <see cref="GlobalClipNorm"/> or <see cref="ClipValue"/>) into a
/// scratch buffer owned by the optimizer; the caller's <see cref="Gradients"/> buffers are never modified.</item>
/// <item>The learning rate is read once (from <see cref="LearningRateSchedule"/> at step <see cref="Iterations"/> if
/// set), <see cref="PrepareStep"/> runs once, each parameter is updated, then <see cref="Iterations"/> increases by one.</item>
/// </list>
/// <para>The built-in optimizers update each element from that element alone (<see cref="UpdatesElementwise"/>): a step
/// cuts the parameters into fixed element ranges, and
/// <see cref="Step(IReadOnlyList{Parameter}, ReadOnlySpan{Gradients}, Rnnx.Threading.IParallelRunner)"/> runs them on
/// a model's shard threads with the shard gradients summed as they are read (no summed copy), in the same bits as a
/// step on the summed gradients, for any thread count. Clipping needs whole-gradient norms first: with it, the sum is
/// written to the scratch buffer, clipped there, and the ranges update from it.</para>
/// <para>Float32 parameters are updated in float32 arithmetic with every hyperparameter rounded to float32 first, as
/// Keras does; float64 parameters use the same formulas in double. State slots have the parameter's dtype and are
/// created on the parameter's first update. After that first step, a step allocates nothing.</para>
/// <para>Not thread-safe: one optimizer is stepped by one thread at a time.</para>
/// </remarks>
public abstract partial class Optimizer : ICheckpointableOptimizer, IParallelOptimizer
{
    private readonly Dictionary<Parameter, SlotSet> _slots = new(ReferenceEqualityComparer.Instance);
    private readonly string[] _slotNames;
    private double _learningRate;
    private ILearningRateSchedule? _schedule;
    private double? _clipNorm;
    private double? _globalClipNorm;
    private double? _clipValue;
    private long _stamp;

    /// <summary>Initializes the base with a fixed learning rate and the names of the per-parameter slots.</summary>
    /// <param name="learningRate">The learning rate (finite, ≥ 0).</param>
    /// <param name="slotNames">Names of the per-parameter state arrays, Keras-style (for example <c>momentum</c>, <c>velocity</c>).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is negative or not finite.</exception>
    protected Optimizer(double learningRate, params string[] slotNames)
    {
        ArgumentNullException.ThrowIfNull(slotNames);
        CheckNonNegative(learningRate, nameof(learningRate));
        _learningRate = learningRate;
        _slotNames = [.. slotNames];
    }

    /// <summary>
    /// The learning rate of the next step. With a <see cref="LearningRateSchedule"/>, this is the schedule's value at
    /// <see cref="Iterations"/> and cannot be set (as in Keras); otherwise it is the fixed rate, settable between steps.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative or non-finite value.</exception>
    /// <exception cref="InvalidOperationException">Set while a <see cref="LearningRateSchedule"/> is in use.</exception>
    public double LearningRate
    {
        get => _schedule?.LearningRate(Iterations) ?? _learningRate;
        set
        {
            if (_schedule is not null)
                throw new InvalidOperationException(
                    $"{GetType().Name}: the learning rate comes from a learning-rate schedule ({_schedule.GetType().Name}) and cannot be set; " +
                    "set LearningRateSchedule to null first to use a fixed learning rate.");
            CheckNonNegative(value, nameof(value));
            _learningRate = value;
        }
    }

    /// <summary>
    /// An optional learning-rate schedule, evaluated once per step at <see cref="Iterations"/> (0 for the first step).
    /// When set it replaces the fixed <see cref="LearningRate"/>; set it back to null to return to the fixed rate.
    /// </summary>
    public ILearningRateSchedule? LearningRateSchedule
    {
        get => _schedule;
        set => _schedule = value;
    }

    /// <summary>Number of steps taken (Keras's <c>iterations</c>); the next step is number <c>Iterations + 1</c>.</summary>
    public long Iterations { get; private set; }

    /// <summary>
    /// Keras <c>clipnorm</c>: each parameter's gradient g is replaced by <c>g·c / max(‖g‖₂, c)</c>, so its L2 norm is at
    /// most c. Null (the default) disables it. At most one of <see cref="ClipNorm"/>, <see cref="GlobalClipNorm"/> and
    /// <see cref="ClipValue"/> may be set, as in Keras.
    /// </summary>
    /// <remarks>
    /// ‖g‖ is accumulated in the gradient's dtype (vectorized, so in a different order than TensorFlow's reduction:
    /// a clipped float32 gradient can differ from Keras's in the last bit); c is rounded to that dtype first.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value that is not finite and positive.</exception>
    /// <exception cref="InvalidOperationException">Another clipping option is already set.</exception>
    public double? ClipNorm
    {
        get => _clipNorm;
        set => _clipNorm = CheckClip(value, nameof(ClipNorm));
    }

    /// <summary>
    /// Keras <c>global_clipnorm</c>: all gradients of the step are scaled by <c>c·min(1/n, 1/c)</c>, where n is the L2
    /// norm of all of them together, so their global norm is at most c. If n is infinite or NaN every gradient becomes
    /// NaN, as in Keras. Null (the default) disables it.
    /// </summary>
    /// <remarks>
    /// Each gradient's sum of squares is accumulated in its dtype, the sums are added in double, and n and the scale
    /// are then computed in each parameter's dtype. Frozen parameters and parameters without a gradient do not count.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value that is not finite and positive.</exception>
    /// <exception cref="InvalidOperationException">Another clipping option is already set.</exception>
    public double? GlobalClipNorm
    {
        get => _globalClipNorm;
        set => _globalClipNorm = CheckClip(value, nameof(GlobalClipNorm));
    }

    /// <summary>
    /// Keras <c>clipvalue</c>: every gradient element is clamped to [−c, c]. Null (the default) disables it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a value that is not finite and positive.</exception>
    /// <exception cref="InvalidOperationException">Another clipping option is already set.</exception>
    public double? ClipValue
    {
        get => _clipValue;
        set => _clipValue = CheckClip(value, nameof(ClipValue));
    }

    /// <summary>Names of the per-parameter state arrays, in the order of <see cref="ParameterState.Slots"/>.</summary>
    public IReadOnlyList<string> SlotNames => _slotNames;

    /// <summary>
    /// Called once per step, after validation and before any parameter is updated: compute the step's shared scalars
    /// (bias corrections, schedule products) here, for both dtypes.
    /// </summary>
    /// <param name="step">The step number t = <see cref="Iterations"/> + 1.</param>
    /// <param name="learningRate">The learning rate of this step, in double.</param>
    protected virtual void PrepareStep(long step, double learningRate)
    {
    }

    /// <summary>Updates one float32 parameter (values, slots) in place.</summary>
    /// <param name="update">The parameter, its clipped gradient, slots, learning rate and step.</param>
    protected abstract void Update(in ParameterUpdate<float> update);

    /// <summary>Updates one float64 parameter (values, slots) in place.</summary>
    /// <param name="update">The parameter, its clipped gradient, slots, learning rate and step.</param>
    protected abstract void Update(in ParameterUpdate<double> update);

    /// <summary>Writes the optimizer-wide scalars (for <see cref="GetState"/>). The default writes none.</summary>
    /// <param name="scalars">Destination, keyed by name.</param>
    protected virtual void SaveScalars(IDictionary<string, double> scalars)
    {
    }

    /// <summary>
    /// Restores the optimizer-wide scalars (for <see cref="SetState"/>). Called only after <see cref="ValidateScalars"/>
    /// and every other check passed, so it must not fail. The default reads none.
    /// </summary>
    /// <param name="scalars">The saved scalars, keyed by name.</param>
    protected virtual void LoadScalars(IReadOnlyDictionary<string, double> scalars)
    {
    }

    /// <summary>Checks that <paramref name="scalars"/> holds what <see cref="LoadScalars"/> needs; returns an error message or null.</summary>
    /// <param name="scalars">The saved scalars, keyed by name.</param>
    /// <returns>Null when valid, otherwise a message describing what is missing.</returns>
    protected virtual string? ValidateScalars(IReadOnlyDictionary<string, double> scalars) => null;

    /// <summary>
    /// Whether slot <paramref name="index"/> holds values that can never be negative (a running mean of squared
    /// gradients): <see cref="SetState"/> refuses a negative value there, which would turn the next step's square root
    /// into NaN.
    /// </summary>
    /// <param name="index">The slot's index in <see cref="SlotNames"/>.</param>
    protected virtual bool IsNonNegativeSlot(int index) => false;

    /// <summary>Resets the optimizer-wide scalars to their initial values (for <see cref="ResetState"/>).</summary>
    protected virtual void ResetScalars()
    {
    }

    /// <summary>Forgets all state: slots of every parameter, shared scalars, and <see cref="Iterations"/> (back to 0).</summary>
    public void ResetState()
    {
        _slots.Clear();
        Iterations = 0;
        ResetScalars();
    }

    /// <summary>
    /// Copies the state for a checkpoint: <see cref="Iterations"/>, the fixed learning rate, the shared scalars, and
    /// each parameter's slot arrays in the order of <paramref name="parameters"/>. A parameter that has no state yet
    /// (never updated, or frozen) gets zero arrays, which is exactly its initial state.
    /// </summary>
    /// <param name="parameters">The parameters, in the order used for <see cref="SetState"/>.</param>
    /// <returns>A deep copy of the state.</returns>
    /// <exception cref="InvalidOperationException">A parameter's dtype or shape changed since its state was created.</exception>
    public OptimizerState GetState(IReadOnlyList<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var state = new OptimizerState
        {
            Optimizer = GetType().Name,
            Iterations = Iterations,
            LearningRate = _learningRate,
        };
        SaveScalars(state.Scalars);
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i] ?? throw new ArgumentException($"{GetType().Name}.GetState: parameters[{i}] is null.", nameof(parameters));
            _slots.TryGetValue(p, out var slots);
            if (slots is not null && !slots.Fits(p)) throw StateMismatch(p, slots);
            var ps = new ParameterState { Name = p.Name, DType = p.DType, Shape = p.Shape.ToArray() };
            for (int j = 0; j < _slotNames.Length; j++)
            {
                var s = new SlotState { Name = _slotNames[j] };
                if (p.DType == DType.Float32) s.Float32 = slots is null ? new float[p.Size] : (float[])slots.Float32(j).Clone();
                else s.Float64 = slots is null ? new double[p.Size] : (double[])slots.Float64(j).Clone();
                ps.Slots.Add(s);
            }
            state.Parameters.Add(ps);
        }
        return state;
    }

    private static int? FirstNegative(SlotState s, DType dtype)
    {
        if (dtype == DType.Float32) { int i = Array.FindIndex(s.Float32!, v => v < 0); return i < 0 ? null : i; }
        int k = Array.FindIndex(s.Float64!, v => v < 0);
        return k < 0 ? null : k;
    }

    /// <summary>
    /// Restores a state saved by <see cref="GetState"/> on an optimizer of the same type and configuration, for the
    /// same parameters in the same order. Parameters are matched by position; the saved names are only used in
    /// messages. Everything is validated before anything changes. Continuing training after a round trip is
    /// bit-identical to never having saved.
    /// </summary>
    /// <param name="parameters">The parameters, in the order used for <see cref="GetState"/>.</param>
    /// <param name="state">The saved state (copied, not referenced).</param>
    /// <exception cref="ArgumentException">
    /// The state belongs to another optimizer type, holds a different number of parameters or slots, or a slot array's
    /// name, dtype or length does not match the parameter (the message names the parameter and the slot).
    /// </exception>
    public void SetState(IReadOnlyList<Parameter> parameters, OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(state);
        string me = GetType().Name;
        if (state.Optimizer != me)
            throw new ArgumentException($"{me}.SetState: the state was saved by a '{state.Optimizer}' optimizer, not '{me}'.", nameof(state));
        if (state.Iterations is < 0 or > OptimizerState.MaxIterations)
            throw new ArgumentException($"{me}.SetState: Iterations is {state.Iterations}; it must be between 0 and {OptimizerState.MaxIterations}.", nameof(state));
        if (state.Parameters is null || state.Parameters.Count != parameters.Count)
            throw new ArgumentException(
                $"{me}.SetState: the state holds {state.Parameters?.Count ?? 0} parameters but {parameters.Count} were given.", nameof(state));
        if (_schedule is null && (!double.IsFinite(state.LearningRate) || state.LearningRate < 0))
            throw new ArgumentException($"{me}.SetState: the saved learning rate {state.LearningRate} is not finite and non-negative.", nameof(state));
        var scalars = state.Scalars ?? [];
        if (ValidateScalars(scalars) is string scalarError)
            throw new ArgumentException($"{me}.SetState: {scalarError}", nameof(state));
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i] ?? throw new ArgumentException($"{me}.SetState: parameters[{i}] is null.", nameof(parameters));
            var ps = state.Parameters[i] ?? throw new ArgumentException($"{me}.SetState: state.Parameters[{i}] is null.", nameof(state));
            string who = $"parameter {i} '{p.Name}' ({p.DType}, shape {p.Shape}; saved as '{ps.Name}')";
            if (ps.DType != p.DType)
                throw new ArgumentException($"{me}.SetState: {who}: the saved slots are {ps.DType} but the parameter is {p.DType}.", nameof(state));
            if (ps.Slots is null || ps.Slots.Count != _slotNames.Length)
                throw new ArgumentException(
                    $"{me}.SetState: {who}: the state holds {ps.Slots?.Count ?? 0} slots but this optimizer has {_slotNames.Length} ({string.Join(", ", _slotNames)}).", nameof(state));
            for (int j = 0; j < _slotNames.Length; j++)
            {
                var s = ps.Slots[j] ?? throw new ArgumentException($"{me}.SetState: {who}: slot {j} is null.", nameof(state));
                if (s.Name != _slotNames[j])
                    throw new ArgumentException($"{me}.SetState: {who}: slot {j} is named '{s.Name}' but this optimizer expects '{_slotNames[j]}'.", nameof(state));
                int? length = p.DType == DType.Float32 ? s.Float32?.Length : s.Float64?.Length;
                if (length is null)
                    throw new ArgumentException($"{me}.SetState: {who}: slot '{s.Name}' has no {p.DType} array.", nameof(state));
                if (length != p.Size)
                    throw new ArgumentException($"{me}.SetState: {who}: slot '{s.Name}' has {length} values but the parameter has {p.Size} elements.", nameof(state));
                if (IsNonNegativeSlot(j) && FirstNegative(s, p.DType) is int at)
                    throw new ArgumentException($"{me}.SetState: {who}: slot '{s.Name}' holds a negative value at index {at}; it is a mean of squares and cannot be negative.", nameof(state));
            }
        }

        // Everything checked: apply.
        for (int i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            var ps = state.Parameters[i];
            var slots = new SlotSet(p, _slotNames.Length);
            for (int j = 0; j < _slotNames.Length; j++)
            {
                if (p.DType == DType.Float32) ps.Slots[j].Float32.AsSpan().CopyTo(slots.Float32(j));
                else ps.Slots[j].Float64.AsSpan().CopyTo(slots.Float64(j));
            }
            _slots[p] = slots;
        }
        Iterations = state.Iterations;
        if (_schedule is null) _learningRate = state.LearningRate;
        LoadScalars(scalars);
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless <paramref name="value"/> is finite and ≥ 0.</summary>
    internal static void CheckNonNegative(double value, string name)
    {
        if (!double.IsFinite(value) || value < 0)
            throw new ArgumentOutOfRangeException(name, value, $"'{name}' must be finite and non-negative.");
    }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> unless <paramref name="value"/> lies in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    internal static void CheckRange(double value, double min, double max, string name)
    {
        if (!(value >= min && value <= max))
            throw new ArgumentOutOfRangeException(name, value, $"'{name}' must be in [{min}, {max}].");
    }

    private double? CheckClip(double? value, string name)
    {
        if (value is null) return null;
        double v = value.Value;
        if (!double.IsFinite(v) || v <= 0)
            throw new ArgumentOutOfRangeException(name, v, $"'{name}' must be finite and positive (or null to disable it).");
        string? other =
            name != nameof(ClipNorm) && _clipNorm is not null ? nameof(ClipNorm)
            : name != nameof(GlobalClipNorm) && _globalClipNorm is not null ? nameof(GlobalClipNorm)
            : name != nameof(ClipValue) && _clipValue is not null ? nameof(ClipValue)
            : null;
        if (other is not null)
            throw new InvalidOperationException(
                $"{GetType().Name}: only one of ClipNorm, GlobalClipNorm and ClipValue can be set (as in Keras); {other} is already set.");
        return v;
    }

    private bool HasGradient(Gradients gradients, Parameter p)
    {
        try
        {
            return gradients.Contains(p);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{GetType().Name}.Step: cannot read the gradient of parameter '{p.Name}' ({p.DType}, shape {p.Shape}): {e.Message}", e);
        }
    }

    /// <summary>Validates the gradient of <paramref name="p"/> in <paramref name="gradients"/> (reading it creates a zero gradient where there was none).</summary>
    private void CheckGradient<T>(Gradients gradients, Parameter p) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> g;
        try
        {
            g = gradients.GetSpan<T>(p);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{GetType().Name}.Step: cannot read the gradient of parameter '{p.Name}' ({p.DType}, shape {p.Shape}): {e.Message}", e);
        }
        if (g.Length != p.Size)
            throw new InvalidOperationException(
                $"{GetType().Name}.Step: the gradient of parameter '{p.Name}' has {g.Length} elements but the parameter has {p.Size} (shape {p.Shape}).");
    }

    private SlotSet GetOrCreateSlots(Parameter p)
    {
        if (_slots.TryGetValue(p, out var slots))
        {
            if (!slots.Fits(p)) throw StateMismatch(p, slots);
            return slots;
        }
        slots = new SlotSet(p, _slotNames.Length);
        _slots.Add(p, slots);
        return slots;
    }

    private InvalidOperationException StateMismatch(Parameter p, SlotSet slots) => new(
        $"{GetType().Name}: the state of parameter '{p.Name}' was created for {slots.DType} shape {slots.Shape}, " +
        $"but the parameter is now {p.DType} shape {p.Shape}. Call ResetState() after changing a parameter's dtype or shape.");

    /// <summary>Applies the configured clipping into the parameter's scratch buffer; returns the gradient to use.</summary>
    private ReadOnlySpan<T> ClipGradient<T>(ReadOnlySpan<T> g, SlotSet slots, double globalNorm) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (_clipNorm is double clipNorm)
        {
            // Keras _clip_by_norm: g·c / max(‖g‖, c), with ‖g‖ computed in the gradient's dtype (0 when g is all zeros).
            var scratch = slots.Scratch<T>();
            T c = T.CreateTruncating(clipNorm);
            T norm = T.Sqrt(TP.SumOfSquares(g));
            TP.Multiply(g, c, scratch);
            TP.Divide(scratch, T.Max(norm, c), scratch);
            return scratch;
        }
        if (_globalClipNorm is double globalClipNorm)
        {
            // Keras clip_by_global_norm: scale = c·min(1/n, 1/c) + (n − n); the last term turns an infinite or NaN norm into NaN.
            var scratch = slots.Scratch<T>();
            T n = T.CreateTruncating(globalNorm);
            T c = T.CreateTruncating(globalClipNorm);
            T scale = c * T.Min(T.One / n, T.CreateTruncating(1.0 / globalClipNorm)) + (n - n);
            TP.Multiply(g, scale, scratch);
            return scratch;
        }
        if (_clipValue is double clipValue)
        {
            // Keras ops.clip(g, −c, c) (TF clip_by_value: max(min(g, c), −c)).
            var scratch = slots.Scratch<T>();
            T c = T.CreateTruncating(clipValue);
            TP.Min(g, c, scratch);
            TP.Max(scratch, -c, scratch);
            return scratch;
        }
        return g;
    }
}
