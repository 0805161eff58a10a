using Rnnx.Initializers;
using Rnnx.Onnx;
using Rnnx.Saving;

namespace Rnnx.Layers;

/// <summary>
/// Keras <c>Embedding(input_dim, output_dim, embeddings_initializer="uniform", mask_zero=False)</c>
/// (keras/src/layers/core/embedding.py): token ids (batch, time), whole numbers in [0, inputDim) stored as numbers,
/// become vectors (batch, time, outputDim) read from the weight <c>embeddings</c> (inputDim, outputDim). With
/// <see cref="MaskZero"/>, id 0 is padding: the layer's mask (ids ≠ 0) goes to the following layers, so id 0 cannot be
/// a word (inputDim = vocabulary size + 1). Ids out of range, negative or fractional are refused naming the id, its
/// position and inputDim.
/// </summary>
[SavedAs("Embedding")]
public sealed class Embedding : Layer
{
    private readonly Initializer _initializer;
    private Parameter? _embeddings;

    /// <summary>Creates the layer.</summary>
    /// <param name="inputDim">Vocabulary size: the largest id + 1.</param>
    /// <param name="outputDim">Width of each embedding vector.</param>
    /// <param name="embeddingsInitializer">Initial values (Keras's <c>"uniform"</c>: uniform in [−0.05, 0.05) when null).</param>
    /// <param name="maskZero">Treat id 0 as padding and emit a mask (Keras <c>mask_zero</c>).</param>
    /// <param name="inputLength">Optional fixed sequence length (Keras 2's <c>input_length</c>; Keras 3 drops it): the input shape becomes (inputLength,).</param>
    /// <param name="name">Optional name.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    public Embedding(int inputDim, int outputDim, Initializer? embeddingsInitializer = null, bool maskZero = false, int? inputLength = null, string? name = null)
        : base(name, inputLength is int n ? [n] : null)
    {
        if (inputDim <= 0) throw new ArgumentOutOfRangeException(nameof(inputDim), inputDim, "Embedding: inputDim (vocabulary size) must be positive.");
        if (outputDim <= 0) throw new ArgumentOutOfRangeException(nameof(outputDim), outputDim, "Embedding: outputDim must be positive.");
        InputDim = inputDim;
        OutputDim = outputDim;
        MaskZero = maskZero;
        InputLength = inputLength;
        _initializer = embeddingsInitializer ?? Initializer.RandomUniform(-0.05, 0.05);
    }

    /// <summary>Vocabulary size (ids are in [0, InputDim)).</summary>
    public int InputDim { get; }

    /// <summary>Embedding width.</summary>
    public int OutputDim { get; }

    /// <summary>Whether id 0 is padding and a mask is emitted.</summary>
    public bool MaskZero { get; }

    /// <summary>The declared sequence length, if any.</summary>
    public int? InputLength { get; }

    /// <summary>The weight <c>embeddings</c> (InputDim, OutputDim).</summary>
    public Parameter Embeddings => _embeddings ?? throw new InvalidOperationException($"{Name}: the layer is not built yet.");

    /// <summary>As Keras: the layer takes a mask only when it makes one (it is a first layer, so none reaches it).</summary>
    public override bool SupportsMasking => MaskZero;

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length != 1) throw ShapeError($"expects token ids (batch, time), got (batch, {string.Join(", ", inputShape.Select(d => d?.ToString() ?? "None"))}).");
        _embeddings = AddWeight("embeddings", [InputDim, OutputDim], _initializer);
    }

    /// <summary>
    /// A shared Embedding takes sequences of any length (unless <see cref="InputLength"/> declares one): its weight
    /// depends on the vocabulary only, and Keras 3's Embedding has no input_spec and builds without reading the input
    /// shape (keras/src/layers/core/embedding.py).
    /// </summary>
    private protected override bool LengthIsFree(int axis, int rank) => InputLength is null;

    /// <inheritdoc />
    public override int?[] ComputeOutputShape(int?[] inputShape) => inputShape.Length == 1
        ? [inputShape[0], OutputDim]
        : throw ShapeError($"expects token ids (batch, time), got rank {inputShape.Length + 1}.");

    /// <inheritdoc />
    protected override Tensor Forward(Tensor input, bool training)
    {
        if (input.Rank != 2) throw ShapeError($"expects token ids (batch, time), got {input.Shape}.");
        return Tensor.Embedding(input, Embeddings.Value, Name);
    }

    /// <inheritdoc />
    public override Tensor? ComputeMask(Tensor input, Tensor? mask)
    {
        if (!MaskZero) return null;
        if (input.Rank != 2) throw ShapeError($"expects token ids (batch, time), got {input.Shape}.");
        return Tensor.StepMask(Tensor.Reshape(input, input.Shape[0], input.Shape[1], 1), 0);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => new LayerConfig()
        .Set("input_dim", InputDim).Set("output_dim", OutputDim).Set("mask_zero", MaskZero)
        .Set("input_length", InputLength is int n ? [n] : (int?[]?)null);

    internal static Embedding FromConfig(LayerConfig c)
    {
        var length = c.GetShape("input_length");
        return new(c.GetInt("input_dim"), c.GetInt("output_dim"), null, c.GetBool("mask_zero", false), length is [int n] ? n : null, c.Name);
    }

    /// <summary>Gather(embeddings, Cast(ids → int64)), axis 0.</summary>
    internal override string ExportOnnx(OnnxGraph graph, string input, int?[] inputShape, string path)
    {
        var ids = graph.Op("Cast", $"{path}/ids", [input], OnnxGraph.Attr.Int("to", OnnxGraph.Int64));
        return graph.Op("Gather", $"{path}/gather", [graph.Weight(Embeddings, path), ids], OnnxGraph.Attr.Int("axis", 0));
    }

    /// <summary>With maskZero, the (batch, time) float mask ids ≠ 0.</summary>
    internal override string? ExportOnnxMask(OnnxGraph graph, string input, string path, string? mask)
    {
        if (!MaskZero) return null;
        var zero = graph.Constant($"{path}/pad_id", [0f]);
        var equal = graph.Op("Equal", $"{path}/is_pad", [input, zero]);
        var keep = graph.Op("Not", $"{path}/is_token", [equal]);
        return graph.Op("Cast", $"{path}/mask", [keep], OnnxGraph.Attr.Int("to", OnnxGraph.Float));
    }
}
