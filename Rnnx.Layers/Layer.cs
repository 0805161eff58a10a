using Rnnx.Initializers;
using Rnnx.Random;

namespace Rnnx.Layers;

/// <summary>
/// Base of every layer: named weights in Keras order, lazy or explicit building from the input shape
/// (without the batch axis; <c>null</c> marks an unknown length such as the time axis), and a forward pass
/// on tensors that records onto the active tape.
/// </summary>
public abstract partial class Layer
{
    private readonly List<Parameter> _own = [];
    private readonly List<Layer> _children = [];
    private string? _name;

    /// <summary>Creates a layer.</summary>
    /// <param name="name">Layer name (a unique default like <c>dense_1</c> is assigned by the model when null).</param>
    /// <param name="inputShape">Optional declared input shape without the batch axis, e.g. <c>[null, 1]</c> for sequences of any length with one feature.</param>
    protected Layer(string? name = null, int?[]? inputShape = null)
    {
        _name = name;
        DeclaredInputShape = inputShape is null ? null : (int?[])inputShape.Clone();
        if (inputShape is not null)
            foreach (var d in inputShape)
                if (d is <= 0) throw new ArgumentException($"{GetType().Name}: input shape {ShapeText(inputShape)} has a non-positive dimension.", nameof(inputShape));
    }

    /// <summary>The layer's name (Keras style, e.g. <c>lstm</c>, <c>dense_1</c>).</summary>
    public string Name
    {
        get => _name ?? DefaultName;
        set => _name = value;
    }

    internal bool HasExplicitName => _name is not null;

    /// <summary>The Keras-style base of default names, e.g. <c>simple_rnn</c>.</summary>
    protected virtual string DefaultName => ToSnakeCase(GetType().Name);

    /// <summary>The declared input shape (without batch), if any.</summary>
    public int?[]? DeclaredInputShape { get; }

    /// <summary>True once weights exist.</summary>
    public bool IsBuilt { get; private set; }

    /// <summary>The dtype of the weights (set when built).</summary>
    public DType DType { get; private set; } = DType.Float32;

    /// <summary>The input shape the layer was built for (without batch).</summary>
    public int?[]? BuiltInputShape { get; private set; }

    /// <summary>All weights, own first then sub-layers', in Keras order.</summary>
    public IReadOnlyList<Parameter> Weights
    {
        get
        {
            var list = new List<Parameter>();
            CollectWeights(list);
            return list;
        }
    }

    /// <summary>The trainable weights.</summary>
    public IReadOnlyList<Parameter> TrainableWeights => Weights.Where(p => p.Trainable).ToList();

    /// <summary>Sub-layers tracked with <see cref="Track{T}"/>.</summary>
    public IReadOnlyList<Layer> Children => _children;

    internal void CollectWeights(List<Parameter> list)
    {
        list.AddRange(_own);
        foreach (var c in _children) c.CollectWeights(list);
    }

    /// <summary>
    /// Whether sub-layer weights are named directly under this layer (<c>lstm/kernel</c> rather than
    /// <c>lstm/lstm_cell/kernel</c>); true for wrappers of built-in cells and for <see cref="TimeDistributed"/>.
    /// </summary>
    protected internal virtual bool FlattenChildNames => false;

    /// <summary>
    /// The weights with their Keras names, prefixed by this layer's name, in <see cref="Weights"/> order: e.g.
    /// <c>lstm/kernel</c>, <c>lstm/recurrent_kernel</c>, <c>lstm/bias</c> (the names <see cref="Models.Model.NamedWeights"/>
    /// and the weight files use). Weights of a built-in cell wrapped by its layer sit directly under the layer's name; those
    /// of other sub-layers under <c>layer/sub_layer/</c>.
    /// </summary>
    public IReadOnlyList<(string Name, Parameter Parameter)> NamedWeights()
    {
        var list = new List<(string, Parameter)>();
        CollectNamedWeights(Name, list);
        return list;
    }

    internal void CollectNamedWeights(string prefix, List<(string, Parameter)> list)
    {
        foreach (var p in _own) list.Add(($"{prefix}/{p.Name}", p));
        foreach (var c in _children) c.CollectNamedWeights(FlattenChildNames ? prefix : $"{prefix}/{c.Name}", list);
    }

    /// <summary>Number of scalars in all weights.</summary>
    public int CountParams() => Weights.Sum(p => p.Size);

    /// <summary>Registers a sub-layer whose weights become part of this layer's (in registration order).</summary>
    protected T Track<T>(T layer) where T : Layer
    {
        ArgumentNullException.ThrowIfNull(layer);
        _children.Add(layer);
        return layer;
    }

    /// <summary>Largest number of elements a weight may have (the largest .NET array).</summary>
    public static int MaxWeightElements => Array.MaxLength;

    /// <summary>
    /// Creates a weight during <see cref="BuildCore(int?[])"/>, drawn from the build context's seeded generator. While a model
    /// file is loaded, the initializer does not run: the weight is created as zeros (its values come from the file)
    /// and its size is checked against what the file holds first.
    /// </summary>
    /// <exception cref="ArgumentException">A negative dimension, or more than <see cref="MaxWeightElements"/> elements.</exception>
    protected Parameter AddWeight(string name, int[] shape, Initializer initializer, bool trainable = true)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(initializer);
        var ctx = BuildContext.Current;
        long elements = ElementCount(name, shape);
        ctx.Budget?.Take(Name, name, shape, elements);
        if (elements > MaxWeightElements)
            throw new ArgumentException(
                $"{Name}: weight '{name}' of shape {ShapeText(shape)} would have more than {MaxWeightElements} elements, the largest array .NET allows.", nameof(shape));
        Tensor value;
        if (ctx.Budget is not null) value = Tensor.Zeros(new Shape(shape), ctx.DType);
        else
        {
            var values = new double[elements];
            initializer.Fill(values, shape, ctx.Rng);
            value = Tensor.FromArray(values, shape).Copy(ctx.DType);
        }
        var p = new Parameter(name, value, trainable);
        _own.Add(p);
        return p;
    }

    /// <summary>The product of the dimensions, saturating at <see cref="long.MaxValue"/>.</summary>
    private long ElementCount(string weight, int[] shape)
    {
        long elements = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"{Name}: weight '{weight}' has shape {ShapeText(shape)} with a negative dimension.", nameof(shape));
            elements = d == 0 || elements == 0 ? 0 : elements > long.MaxValue / d ? long.MaxValue : elements * d;
        }
        return elements;
    }

    /// <summary>
    /// Creates the weights for inputs of <paramref name="inputShape"/> (without batch) in <paramref name="dtype"/>,
    /// drawing initial values from <paramref name="rng"/> (a fresh generator seeded with 0 when null).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shape does not fit the layer.</exception>
    public void Build(int?[] inputShape, DType dtype = DType.Float32, NumPyRandomState? rng = null)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        using var scope = BuildContext.Enter(dtype, rng ?? BuildContext.CurrentOrNull?.Rng ?? new NumPyRandomState(0));
        BuildInContext(inputShape);
    }

    internal void BuildInContext(int?[] inputShape) => BuildInContext([inputShape]);

    internal void BuildInContext(IReadOnlyList<int?[]> inputShapes)
    {
        if (IsBuilt) return;
        if (inputShapes.Count == 0) throw new ArgumentException($"{Name}: a layer needs at least one input.", nameof(inputShapes));
        BuiltInputShape = (int?[])inputShapes[0].Clone();
        BuiltInputShapes = inputShapes.Select(s => (int?[])s.Clone()).ToArray();
        DType = BuildContext.Current.DType;
        BuildCore(inputShapes);
        IsBuilt = true;
    }

    /// <summary>The input shapes (without batch) the layer was built for, one per input (see <see cref="CallMany(IReadOnlyList{Tensor}, bool)"/>).</summary>
    public IReadOnlyList<int?[]>? BuiltInputShapes { get; private set; }

    /// <summary>Creates the weights (call <see cref="AddWeight"/>); build sub-layers explicitly or let them build lazily on first call.</summary>
    protected virtual void BuildCore(int?[] inputShape) { }

    /// <summary>
    /// Creates the weights for several inputs (shapes without batch, in call order). The default accepts exactly one
    /// input and calls <see cref="BuildCore(int?[])"/>; layers taking several inputs (merge layers, a recurrent layer
    /// given initial states) override it.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The number of inputs or a shape does not fit the layer.</exception>
    protected virtual void BuildCore(IReadOnlyList<int?[]> inputShapes)
    {
        RequireOneInput(inputShapes);
        BuildCore(inputShapes[0]);
    }

    /// <summary>
    /// The output shapes (without batch) for several input shapes (without batch), one per output. The default accepts
    /// exactly one input and returns <see cref="ComputeOutputShape"/>'s single shape.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The number of inputs or a shape does not fit the layer.</exception>
    public virtual IReadOnlyList<int?[]> ComputeOutputShapes(IReadOnlyList<int?[]> inputShapes)
    {
        ArgumentNullException.ThrowIfNull(inputShapes);
        RequireOneInput(inputShapes);
        return [ComputeOutputShape(inputShapes[0])];
    }

    /// <summary>How many tensors a call gives (1 for most layers; 1 + the number of states for a recurrent layer with return state).</summary>
    public virtual int OutputCount => 1;

    private void RequireOneInput(IReadOnlyList<int?[]> inputShapes)
    {
        if (inputShapes.Count != 1)
            throw ShapeError($"{GetType().Name} takes one input, got {inputShapes.Count}: {string.Join(", ", inputShapes.Select(ShapeText))}.");
    }

    /// <summary>The output shape (without batch) for an input shape (without batch); <c>null</c> dimensions stay unknown.</summary>
    /// <exception cref="ShapeMismatchException">The input shape does not fit the layer.</exception>
    public abstract int?[] ComputeOutputShape(int?[] inputShape);

    /// <summary>
    /// Runs the layer on a batch, building it first from the input's shape if needed (in the input's dtype).
    /// </summary>
    /// <param name="input">(batch, ...) tensor.</param>
    /// <param name="training">
    /// Keras's training flag, passed down to every sub-layer and cell for layers that behave differently while
    /// training (such as dropout; no built-in Rnnx layer does, so it changes nothing for them). It does not decide
    /// whether the call is recorded for backpropagation: operations are recorded whenever a tape is active and
    /// recording, whatever this flag says. To record nothing, call outside any active tape or inside
    /// <see cref="Tape.NoGrad"/> (as <c>Predict</c> and <c>Evaluate</c> do).
    /// </param>
    public Tensor Call(Tensor input, bool training = false)
    {
        EnsureBuiltFor(input);
        return Forward(input, training);
    }

    /// <summary>Builds the layer from the input's shape and dtype on first use; afterwards checks the dtype.</summary>
    private protected void EnsureBuiltFor(Tensor input)
    {
        if (!IsBuilt)
        {
            var shape = WithoutBatch(input.Shape);
            using var scope = BuildContext.Enter(input.DType, BuildContext.CurrentOrNull?.Rng ?? new NumPyRandomState(0));
            BuildInContext(shape);
        }
        else if (input.DType != DType)
            throw new ArgumentException($"{Name}: input dtype {input.DType} differs from the layer's {DType}.", nameof(input));
    }

    /// <summary>The forward computation (the layer is built).</summary>
    protected abstract Tensor Forward(Tensor input, bool training);

    // ------------------------------------------------------------ masks (Keras's supports_masking / compute_mask)

    /// <summary>
    /// Whether the layer accepts a (batch, time) mask (Keras <c>supports_masking</c>). False by default: such a layer
    /// refuses a mask (Keras 3 warns and drops it; Rnnx refuses, so that padding never silently reaches a result).
    /// Layers that act per step (Dense, activations) pass the mask on unchanged; recurrent layers, pooling and the
    /// losses use it.
    /// </summary>
    public virtual bool SupportsMasking => false;

    /// <summary>
    /// Runs the layer with the mask produced by the layers before it (Keras's <c>layer(x, mask=mask)</c>); a mask is
    /// (batch, time) of 1 (use the step) and 0 (skip it), in the input's dtype. How a model carries masks: for each
    /// layer, <c>y = layer.Call(x, mask, training)</c>, then <c>mask = layer.ComputeMask(x, mask)</c> for the next one.
    /// </summary>
    /// <param name="input">(batch, time, ...) when a mask is given.</param>
    /// <param name="mask">(batch, time) or null (no mask).</param>
    /// <param name="training">As in <see cref="Call(Tensor, bool)"/>.</param>
    /// <exception cref="ArgumentException">The layer cannot take a mask, or the mask does not fit the input.</exception>
    public Tensor Call(Tensor input, Tensor? mask, bool training = false)
    {
        if (mask is not Tensor m) return Call(input, training);
        CheckMask(input, m);
        EnsureBuiltFor(input);
        return Forward(input, m, training);
    }

    /// <summary>
    /// The mask of the layer's output for the next layer (Keras <c>compute_mask</c>), given the layer's input and
    /// input mask: by default the input mask when <see cref="SupportsMasking"/> (null stays null). Layers that make
    /// a mask (Masking, Embedding) or consume it (a recurrent layer returning only its last output, global pooling)
    /// override it.
    /// </summary>
    /// <exception cref="ArgumentException">A mask reaches a layer that cannot take one.</exception>
    public virtual Tensor? ComputeMask(Tensor input, Tensor? mask)
    {
        if (mask is Tensor m) CheckMask(input, m);
        return mask;
    }

    /// <summary>The forward computation with a mask (the layer is built, the mask checked); by default the mask changes nothing.</summary>
    protected virtual Tensor Forward(Tensor input, Tensor mask, bool training) => Forward(input, training);

    /// <summary>Refuses a mask this layer cannot take, one whose shape is not the input's (batch, time), or one with a value other than 0 or 1.</summary>
    /// <exception cref="ArgumentException">Naming the layer and both shapes, or the layer and the position of the value.</exception>
    protected void CheckMask(Tensor input, Tensor mask)
    {
        if (!SupportsMasking)
            throw new ArgumentException(
                $"{Name}: a {GetType().Name} layer cannot take a mask (input {input.Shape}, mask {mask.Shape}); the mask comes from a Masking or Embedding(maskZero: true) layer before it. Put the layers that use masks (recurrent layers, GlobalAveragePooling1D, TimeDistributed, Dense) between them, or drop the mask.");
        if (mask.Rank != 2 || input.Rank < 2 || mask.Shape[0] != input.Shape[0] || mask.Shape[1] != input.Shape[1])
            throw new ArgumentException($"{Name}: mask {mask.Shape} must be (batch, time) of the input {input.Shape}.", nameof(mask));
        // A mask selects steps; a value between 0 and 1 would blend them, and the fused kernels and the step loop blend differently.
        // Masks from Masking and Embedding (Tensor.StepMask) are 0/1 by construction: only other masks are scanned.
        if (mask.IsStepMask) return;
        int bad = mask.DType == DType.Float32 ? FirstNonBinary(mask.AsSpan<float>()) : FirstNonBinary(mask.AsSpan<double>());
        if (bad >= 0)
        {
            int steps = mask.Shape[1];
            double value = mask.DType == DType.Float32 ? mask.AsSpan<float>()[bad] : mask.AsSpan<double>()[bad];
            throw new ArgumentException($"{Name}: mask value {value} at (sample {bad / steps}, step {bad % steps}) is not 0 or 1; a mask is 1 (use the step) or 0 (skip it).", nameof(mask));
        }
    }

    private static int FirstNonBinary<T>(ReadOnlySpan<T> values) where T : unmanaged, System.Numerics.INumberBase<T>
    {
        for (int i = 0; i < values.Length; i++)
            if (values[i] != T.Zero && values[i] != T.One) return i;
        return -1;
    }

    /// <summary>
    /// Runs the layer on several inputs (e.g. the tensors a merge layer combines, or a recurrent layer's input followed by
    /// its initial states) and returns its <see cref="OutputCount"/> outputs (e.g. a recurrent layer's output followed by
    /// its final states with return state). Builds the layer first from all input shapes if needed.
    /// </summary>
    /// <param name="inputs">(batch, ...) tensors, in the layer's input order.</param>
    /// <param name="training">Keras's training flag (see <see cref="Call(Tensor, bool)"/>).</param>
    /// <exception cref="ArgumentException">No inputs, or an input dtype differs from the layer's.</exception>
    /// <exception cref="ShapeMismatchException">The number of inputs or their shapes do not fit the layer (the message names both).</exception>
    public Tensor[] CallMany(IReadOnlyList<Tensor> inputs, bool training = false)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var outputs = new Tensor[OutputCount];
        CallMany(inputs as Tensor[] ?? inputs.ToArray(), outputs, training);
        return outputs;
    }

    /// <summary>
    /// <see cref="CallMany(IReadOnlyList{Tensor}, bool)"/> into a caller's span of <see cref="OutputCount"/> tensors: the
    /// form models and wrappers use on every step, which allocates no array.
    /// </summary>
    /// <exception cref="ArgumentException">No inputs, the wrong number of outputs, or an input dtype differs from the layer's.</exception>
    /// <exception cref="ShapeMismatchException">The number of inputs or their shapes do not fit the layer.</exception>
    public void CallMany(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training = false)
    {
        if (inputs.Length == 0) throw new ArgumentException($"{Name}: called with no inputs.", nameof(inputs));
        if (outputs.Length != OutputCount)
            throw new ArgumentException($"{Name}: gives {OutputCount} output(s), the caller expects {outputs.Length}.", nameof(outputs));
        EnsureBuiltForMany(inputs);
        ForwardMany(inputs, outputs, training);
    }

    /// <summary>Builds the layer from all input shapes on first use; afterwards checks every input's dtype.</summary>
    private void EnsureBuiltForMany(ReadOnlySpan<Tensor> inputs)
    {
        if (inputs.Length == 0) throw new ArgumentException($"{Name}: called with no inputs.", nameof(inputs));
        if (!IsBuilt)
        {
            var shapes = new int?[inputs.Length][];
            for (int i = 0; i < inputs.Length; i++) shapes[i] = WithoutBatch(inputs[i].Shape);
            using var scope = BuildContext.Enter(inputs[0].DType, BuildContext.CurrentOrNull?.Rng ?? new NumPyRandomState(0));
            BuildInContext(shapes);
        }
        foreach (var input in inputs)
            if (input.DType != DType)
                throw new ArgumentException($"{Name}: input dtype {input.DType} differs from the layer's {DType}.", nameof(inputs));
    }

    /// <summary>
    /// The forward computation on several inputs (the layer is built), writing <see cref="OutputCount"/> outputs. The
    /// default accepts exactly one input and calls <see cref="Forward(Tensor, bool)"/>.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The number of inputs does not fit the layer.</exception>
    protected virtual void ForwardMany(ReadOnlySpan<Tensor> inputs, Span<Tensor> outputs, bool training)
    {
        if (inputs.Length != 1)
            throw ShapeError($"{GetType().Name} takes one input, got {inputs.Length}.");
        outputs[0] = Forward(inputs[0], training);
    }

    /// <summary>A tensor's shape without its batch axis.</summary>
    internal static int?[] WithoutBatch(Shape s)
    {
        var shape = new int?[s.Rank - 1];
        for (int i = 1; i < s.Rank; i++) shape[i - 1] = s[i];
        return shape;
    }

    /// <summary>Copies of the weights in Keras order (heap tensors).</summary>
    public Tensor[] GetWeights() => Weights.Select(p => p.Value.Copy()).ToArray();

    /// <summary>Sets the weights in Keras order; shapes must match exactly. Nothing is changed if any check fails.</summary>
    /// <exception cref="ArgumentException">Wrong count or a shape mismatch (named).</exception>
    public void SetWeights(params Tensor[] weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var ws = Weights;
        if (!IsBuilt) throw new InvalidOperationException($"{Name}: build the layer (or call it once) before setting weights.");
        if (weights.Length != ws.Count)
            throw new ArgumentException($"{Name}: expected {ws.Count} weight arrays ({string.Join(", ", ws.Select(p => $"{p.Name} {p.Shape}"))}), got {weights.Length}.", nameof(weights));
        for (int i = 0; i < ws.Count; i++)
            if (weights[i].Shape != ws[i].Shape)
                throw new ShapeMismatchException($"{Name}: weight {i} '{ws[i].Name}' has shape {ws[i].Shape}, the value has {weights[i].Shape}.", nameof(weights));
        for (int i = 0; i < ws.Count; i++) ws[i].Assign(weights[i]);
    }

    /// <summary>
    /// The constructor arguments needed to re-create this layer when a model is loaded (Keras's <c>get_config</c>).
    /// Every built-in layer overrides it beside its <c>FromConfig</c> factory; a custom layer or cell overrides it to
    /// add its own arguments (for example <c>units</c>) and registers a factory with
    /// <see cref="Saving.LayerRegistry.Register{T}(string, Func{Saving.LayerConfig, T})"/>. Weights are not part of the config.
    /// </summary>
    /// <returns>A new config; empty unless overridden.</returns>
    public virtual Saving.LayerConfig GetConfig() => new();

    /// <summary>
    /// Emits this layer's ONNX nodes reading <paramref name="input"/> (the layer's input of shape
    /// <paramref name="inputShape"/> without batch) and returns the name of its output. Layers without an ONNX
    /// equivalent keep this default, which refuses naming the layer.
    /// </summary>
    /// <param name="graph">The graph being built.</param>
    /// <param name="input">The ONNX name of the input tensor.</param>
    /// <param name="inputShape">The input shape without the batch axis.</param>
    /// <param name="path">The layer's path in the model, the prefix of its node and weight names.</param>
    /// <exception cref="NotSupportedException">The layer (or its cell or activation) has no ONNX equivalent.</exception>
    internal virtual string ExportOnnx(Onnx.OnnxGraph graph, string input, int?[] inputShape, string path) =>
        throw new NotSupportedException(
            $"ONNX export: layer '{path}' is a {GetType().Name}, which has no ONNX equivalent (custom layers are not exported; run the model in Rnnx).");

    /// <summary>
    /// ONNX export with the mask reaching the layer (the ONNX name of a (batch, time) float mask, or null). By default a
    /// layer that supports masking exports as without one (its computation does not depend on the mask); a layer that
    /// cannot take a mask refuses it. Layers whose result depends on the mask (recurrent layers, average pooling) override it.
    /// </summary>
    /// <exception cref="NotSupportedException">The layer cannot take the mask, or ONNX cannot express what it does with it.</exception>
    internal virtual string ExportOnnx(Onnx.OnnxGraph graph, string input, int?[] inputShape, string path, string? mask)
    {
        if (mask is not null && !SupportsMasking)
            throw new NotSupportedException($"ONNX export: layer '{path}' is a {GetType().Name}, which cannot take the mask of the layers before it (as when running it).");
        return ExportOnnx(graph, input, inputShape, path);
    }

    /// <summary>The ONNX name of the mask after this layer, given its input and input mask (<see cref="ComputeMask"/> in the graph).</summary>
    internal virtual string? ExportOnnxMask(Onnx.OnnxGraph graph, string input, string path, string? mask) => mask;

    /// <summary>
    /// Emits the ONNX nodes of a call on several inputs (ONNX names, shapes without batch) and returns the names of its
    /// <see cref="OutputCount"/> outputs. The default handles one input through <see cref="ExportOnnx(Onnx.OnnxGraph, string, int?[], string)"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">The layer has no ONNX equivalent for this call.</exception>
    internal virtual string[] ExportOnnxMany(Onnx.OnnxGraph graph, IReadOnlyList<string> inputs, IReadOnlyList<int?[]> inputShapes, string path) =>
        inputs.Count == 1 && OutputCount == 1
            ? [ExportOnnx(graph, inputs[0], inputShapes[0], path)]
            : throw new NotSupportedException($"ONNX export: layer '{path}' ({GetType().Name}) is called on {inputs.Count} inputs, which has no ONNX equivalent.");

    /// <summary>
    /// Whether the layer acts on the last axis alone, so that on (batch, time, ...) it equals itself on
    /// (batch·time, ...); lets <see cref="TimeDistributed"/> export it without reshaping.
    /// </summary>
    internal virtual bool ActsOnLastAxisOnly => false;


    /// <summary>Keras-like one-line description.</summary>
    public override string ToString() => $"{Name} ({GetType().Name})";

    private static string ShapeText(int[] shape) => "[" + string.Join(", ", shape) + "]";

    internal static string ShapeText(int?[] shape) => "(" + string.Join(", ", shape.Select(d => d?.ToString() ?? "None")) + (shape.Length == 1 ? ",)" : ")");

    internal static string ToSnakeCase(string name)
    {
        if (name is "SimpleRNN") return "simple_rnn";
        if (name is "LSTM") return "lstm";
        if (name is "GRU") return "gru";
        if (name is "RNN") return "rnn";
        if (name is "Conv1D") return "conv1d";
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0 && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1])))) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>Throws a <see cref="ShapeMismatchException"/> naming this layer.</summary>
    protected ShapeMismatchException ShapeError(string message) => new($"{Name}: {message}");
}

/// <summary>The dtype and seeded generator used to create weights while layers build.</summary>
public sealed class BuildContext
{
    [ThreadStatic] private static BuildContext? t_current;

    private BuildContext(DType dtype, NumPyRandomState rng)
    {
        DType = dtype;
        Rng = rng;
    }

    /// <summary>The weight dtype.</summary>
    public DType DType { get; }

    /// <summary>The generator weights are drawn from, in build order.</summary>
    public NumPyRandomState Rng { get; }

    /// <summary>Set while a model file is loaded: weights are sized against it and not initialized.</summary>
    internal Saving.WeightBudget? Budget { get; private init; }

    internal static BuildContext? CurrentOrNull => t_current;

    internal static BuildContext Current => t_current ?? throw new InvalidOperationException("Weights can only be created while a layer is being built.");

    /// <summary>Enters a build context until the returned scope is disposed.</summary>
    public static IDisposable Enter(DType dtype, NumPyRandomState rng)
    {
        var prev = t_current;
        t_current = new BuildContext(dtype, rng) { Budget = prev?.Budget };
        return new Restore(prev);
    }

    /// <summary>Enters a build context for loading a model file: weights are sized against <paramref name="budget"/> and not initialized.</summary>
    internal static IDisposable EnterLoad(DType dtype, Saving.WeightBudget budget)
    {
        var prev = t_current;
        t_current = new BuildContext(dtype, new NumPyRandomState(0)) { Budget = budget };
        return new Restore(prev);
    }

    private sealed class Restore(BuildContext? prev) : IDisposable
    {
        public void Dispose() => t_current = prev;
    }
}
