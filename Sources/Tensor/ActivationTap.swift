/// Receives intermediate activations by golden-file name (`encoder.layer0_out`,
/// `mixed.inputs_embeds`, ...): lets the parity tests check every stage of the codec and the LM
/// without the models keeping copies.
public typealias ActivationTap = (String, Matrix) -> Void
