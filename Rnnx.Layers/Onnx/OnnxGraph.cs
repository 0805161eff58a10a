using System.Runtime.InteropServices;

namespace Rnnx.Onnx;

/// <summary>Builds an ONNX GraphProto: nodes, initializers, unique names; serializes a ModelProto.</summary>
internal sealed partial class OnnxGraph
{
    /// <summary>The caller's <see cref="OnnxExportOptions.MasksAreRightPadded"/>: masked recurrent layers may be exported with sequence_lens.</summary>
    public bool MasksAreRightPadded { get; init; }

    // onnx.proto field numbers.
    private const int ModelIrVersion = 1, ModelProducerName = 2, ModelProducerVersion = 3, ModelDocString = 6, ModelGraph = 7, ModelOpsetImport = 8, ModelMetadataProps = 14;
    private const int OpsetDomain = 1, OpsetVersion = 2;
    private const int GraphNode = 1, GraphName = 2, GraphInitializer = 5, GraphInput = 11, GraphOutput = 12;
    private const int NodeInput = 1, NodeOutput = 2, NodeName = 3, NodeOpType = 4, NodeAttribute = 5;
    private const int AttrName = 1, AttrF = 2, AttrI = 3, AttrS = 4, AttrFloats = 7, AttrInts = 8, AttrStrings = 9, AttrType = 20;
    private const int AttrTypeFloat = 1, AttrTypeInt = 2, AttrTypeString = 3, AttrTypeFloats = 6, AttrTypeInts = 7, AttrTypeStrings = 8;
    private const int TensorDims = 1, TensorDataType = 2, TensorName = 8, TensorRawData = 9;
    private const int ValueInfoName = 1, ValueInfoType = 2, TypeTensor = 1, TensorTypeElem = 1, TensorTypeShape = 2, ShapeDim = 1, DimValue = 1, DimParam = 2;
    private const int KeyValueKey = 1, KeyValueValue = 2;

    /// <summary>ONNX TensorProto.DataType values.</summary>
    public const int Float = 1, Int32 = 6, Int64 = 7, Double = 11;

    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _nodeCount;

    /// <summary>A fresh tensor name based on <paramref name="hint"/>.</summary>
    public string Name(string hint)
    {
        string clean = new(hint.Select(c => char.IsLetterOrDigit(c) || c is '_' or '/' or '.' ? c : '_').ToArray());
        string n = clean;
        for (int k = 1; !_names.Add(n); k++) n = $"{clean}_{k}";
        return n;
    }

    /// <summary>Reserves an exact name (graph input or output).</summary>
    public string Reserve(string name) => _names.Add(name) ? name : throw new ArgumentException($"ONNX name '{name}' is used twice.");

    /// <summary>A float32 initializer.</summary>
    public string Constant(string hint, ReadOnlySpan<float> values, params long[] dims)
    {
        string name = Name(hint);
        var t = new ProtoWriter();
        foreach (var d in dims) t.Varint(TensorDims, d);
        t.Varint(TensorDataType, Float).String(TensorName, name).Bytes(TensorRawData, MemoryMarshal.AsBytes(values));
        _initializers.Add(t);
        return name;
    }

    /// <summary>An int64 initializer (shapes, axes, slice bounds).</summary>
    public string ConstantInt64(string hint, params long[] values)
    {
        string name = Name(hint);
        var t = new ProtoWriter().Varint(TensorDims, values.Length).Varint(TensorDataType, Int64).String(TensorName, name)
            .Bytes(TensorRawData, MemoryMarshal.AsBytes(values.AsSpan()));
        _initializers.Add(t);
        return name;
    }

    /// <summary>A float64 initializer of shape [values.Length].</summary>
    public string ConstantFloat64(string hint, params double[] values)
    {
        string name = Name(hint);
        _initializers.Add(new ProtoWriter().Varint(TensorDims, values.Length).Varint(TensorDataType, Double).String(TensorName, name)
            .Bytes(TensorRawData, MemoryMarshal.AsBytes(values.AsSpan())));
        return name;
    }

    /// <summary>A scalar (rank 0) int64 initializer, e.g. a Gather index that drops the axis.</summary>
    public string ConstantInt64Scalar(string hint, long value)
    {
        string name = Name(hint);
        var t = new ProtoWriter().Varint(TensorDataType, Int64).String(TensorName, name).Bytes(TensorRawData, MemoryMarshal.AsBytes(new[] { value }.AsSpan()));
        _initializers.Add(t);
        return name;
    }

    /// <summary>Adds a node; returns its output names (fresh names from <paramref name="outputHints"/>; an empty hint is an omitted optional output).</summary>
    public string[] Node(string opType, string[] inputs, string[] outputHints, params Attr[] attributes)
    {
        var outputs = outputHints.Select(h => h.Length == 0 ? "" : Name(h)).ToArray();
        NodeWithOutputs(opType, inputs, outputs, attributes);
        return outputs;
    }

    /// <summary>Adds a single-output node; returns the output name.</summary>
    public string Op(string opType, string outputHint, string[] inputs, params Attr[] attributes) => Node(opType, inputs, [outputHint], attributes)[0];

    /// <summary>Adds a node with exact output names.</summary>
    public void NodeWithOutputs(string opType, string[] inputs, string[] outputs, params Attr[] attributes)
    {
        var n = new ProtoWriter();
        foreach (var i in inputs) n.String(NodeInput, i);
        foreach (var o in outputs) n.String(NodeOutput, o);
        n.String(NodeName, $"{opType}_{_nodeCount++}").String(NodeOpType, opType);
        foreach (var a in attributes) n.Message(NodeAttribute, a.Encode());
        _nodes.Add(n);
    }

    private static ProtoWriter ValueInfo(string name, int elemType, IReadOnlyList<object> dims)
    {
        var shape = new ProtoWriter();
        foreach (var d in dims)
        {
            var dim = new ProtoWriter();
            if (d is int v) dim.Varint(DimValue, v);
            else dim.String(DimParam, (string)d);
            shape.Message(ShapeDim, dim);
        }
        var tensorType = new ProtoWriter().Varint(TensorTypeElem, elemType).Message(TensorTypeShape, shape);
        var type = new ProtoWriter().Message(TypeTensor, tensorType);
        return new ProtoWriter().String(ValueInfoName, name).Message(ValueInfoType, type);
    }

    /// <summary>The serialized ModelProto.</summary>
    /// <param name="graphName">Graph name.</param>
    /// <param name="inputs">Graph inputs: name and dims (int or symbolic string) of each.</param>
    /// <param name="outputs">Graph outputs: name and dims of each.</param>
    /// <param name="opset">Default-domain opset version.</param>
    /// <param name="docString">Model description.</param>
    /// <param name="metadata">metadata_props entries.</param>
    public byte[] ToModel(string graphName, IReadOnlyList<(string Name, IReadOnlyList<object> Dims)> inputs, IReadOnlyList<(string Name, IReadOnlyList<object> Dims)> outputs,
        int opset, string docString, IReadOnlyDictionary<string, string> metadata)
    {
        var g = new ProtoWriter();
        foreach (var n in _nodes) g.Message(GraphNode, n);
        g.String(GraphName, graphName);
        foreach (var t in _initializers) g.Message(GraphInitializer, t);
        foreach (var (name, dims) in inputs) g.Message(GraphInput, ValueInfo(name, Float, dims));
        foreach (var (name, dims) in outputs) g.Message(GraphOutput, ValueInfo(name, Float, dims));

        var m = new ProtoWriter()
            .Varint(ModelIrVersion, opset >= 18 ? 9 : 8)
            .String(ModelProducerName, "rnnx")
            .String(ModelProducerVersion, typeof(OnnxGraph).Assembly.GetName().Version?.ToString(3) ?? "0.0.0")
            .String(ModelDocString, docString)
            .Message(ModelGraph, g)
            .Message(ModelOpsetImport, new ProtoWriter().String(OpsetDomain, "").Varint(OpsetVersion, opset));
        foreach (var (k, v) in metadata)
            m.Message(ModelMetadataProps, new ProtoWriter().String(KeyValueKey, k).String(KeyValueValue, v));
        return m.ToArray();
    }

    /// <summary>A node attribute.</summary>
    internal abstract record Attr(string Name)
    {
        public abstract ProtoWriter Encode();

        public static Attr Int(string name, long value) => new IntAttr(name, value);

        public static Attr Float(string name, float value) => new FloatAttr(name, value);

        public static Attr String(string name, string value) => new StringAttr(name, value);

        public static Attr Ints(string name, params long[] values) => new IntsAttr(name, values);

        public static Attr Floats(string name, params float[] values) => new FloatsAttr(name, values);

        public static Attr Strings(string name, params string[] values) => new StringsAttr(name, values);
    }

    private sealed record IntAttr(string Name, long Value) : Attr(Name)
    {
        public override ProtoWriter Encode() => new ProtoWriter().String(AttrName, Name).Varint(AttrI, Value).Varint(AttrType, AttrTypeInt);
    }

    private sealed record FloatAttr(string Name, float Value) : Attr(Name)
    {
        public override ProtoWriter Encode() => new ProtoWriter().String(AttrName, Name).Float(AttrF, Value).Varint(AttrType, AttrTypeFloat);
    }

    private sealed record StringAttr(string Name, string Value) : Attr(Name)
    {
        public override ProtoWriter Encode() => new ProtoWriter().String(AttrName, Name).String(AttrS, Value).Varint(AttrType, AttrTypeString);
    }

    private sealed record IntsAttr(string Name, long[] Values) : Attr(Name)
    {
        public override ProtoWriter Encode()
        {
            var w = new ProtoWriter().String(AttrName, Name);
            foreach (var v in Values) w.Varint(AttrInts, v);
            return w.Varint(AttrType, AttrTypeInts);
        }
    }

    private sealed record FloatsAttr(string Name, float[] Values) : Attr(Name)
    {
        public override ProtoWriter Encode()
        {
            var w = new ProtoWriter().String(AttrName, Name);
            foreach (var v in Values) w.Float(AttrFloats, v);
            return w.Varint(AttrType, AttrTypeFloats);
        }
    }

    private sealed record StringsAttr(string Name, string[] Values) : Attr(Name)
    {
        public override ProtoWriter Encode()
        {
            var w = new ProtoWriter().String(AttrName, Name);
            foreach (var v in Values) w.String(AttrStrings, v);
            return w.Varint(AttrType, AttrTypeStrings);
        }
    }
}
