"""KMS through real clients: keys, aliases, encryption contexts, key states, the master key at
rest, and kms:* authorized on the key's ARN."""
import base64
import json
import os
import stat

import pytest

from conftest import CLIS, REGION


@pytest.mark.parametrize("cli", CLIS)
def test_encrypt_decrypt_with_context_and_key_states(server, cli, name, tmp_path):
    aws = lambda *a, **kw: server.aws("kms", *a, cli=cli, **kw)  # noqa: E731
    key = aws("create-key", "--description", "app key")["KeyMetadata"]
    assert key["KeyState"] == "Enabled" and key["Arn"].endswith(key["KeyId"])
    aws("create-alias", "--alias-name", f"alias/{name}", "--target-key-id", key["KeyId"])
    plain = tmp_path / "plain"
    plain.write_bytes(b"db-password-123")
    blob = aws("encrypt", "--key-id", f"alias/{name}", "--plaintext", f"fileb://{plain}",
               "--encryption-context", "app=kptboard")["CiphertextBlob"]
    blob_file = tmp_path / "blob"
    blob_file.write_bytes(base64.b64decode(blob))
    out = aws("decrypt", "--ciphertext-blob", f"fileb://{blob_file}",
              "--encryption-context", "app=kptboard")
    assert base64.b64decode(out["Plaintext"]) == b"db-password-123"
    assert out["KeyId"] == key["Arn"]
    wrong = aws("decrypt", "--ciphertext-blob", f"fileb://{blob_file}",
                "--encryption-context", "app=other", check=False)
    assert wrong.returncode != 0 and "InvalidCiphertextException" in wrong.stderr
    aws("disable-key", "--key-id", key["KeyId"])
    disabled = aws("decrypt", "--ciphertext-blob", f"fileb://{blob_file}",
                   "--encryption-context", "app=kptboard", check=False)
    assert disabled.returncode != 0 and "DisabledException" in disabled.stderr
    aws("enable-key", "--key-id", key["KeyId"])
    sched = aws("schedule-key-deletion", "--key-id", key["KeyId"], "--pending-window-in-days", "7")
    assert sched["KeyState"] == "PendingDeletion"
    aws("cancel-key-deletion", "--key-id", key["KeyId"])
    assert aws("describe-key", "--key-id", key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    aliases = [a["AliasName"] for a in aws("list-aliases")["Aliases"]]
    assert f"alias/{name}" in aliases and "alias/aws/ssm" in aliases


def test_master_key_and_no_plaintext_at_rest(server):
    kms = server.boto3("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    marker = b"plaintext-marker-7c1e9a"
    kms.encrypt(KeyId=key, Plaintext=marker)
    data_key = kms.generate_data_key(KeyId=key, KeySpec="AES_256")
    assert len(data_key["Plaintext"]) == 32
    path = os.path.join(server.data_dir, "master.key")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    for root, _, files in os.walk(server.data_dir):
        for f in files:
            data = open(os.path.join(root, f), "rb").read()
            assert marker not in data, f
            assert data_key["Plaintext"] not in data, f


def test_kms_permissions_are_checked_on_the_key(server, name):
    kms, iam = server.boto3("kms"), server.boto3("iam")
    allowed = kms.create_key()["KeyMetadata"]
    other = kms.create_key()["KeyMetadata"]
    blob_ok = kms.encrypt(KeyId=allowed["KeyId"], Plaintext=b"a")["CiphertextBlob"]
    blob_no = kms.encrypt(KeyId=other["KeyId"], Plaintext=b"b")["CiphertextBlob"]
    iam.create_user(UserName=name)
    k = iam.create_access_key(UserName=name)["AccessKey"]
    iam.put_user_policy(UserName=name, PolicyName="one-key", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt",
                                                "Resource": allowed["Arn"]}]}))
    import boto3
    user_kms = boto3.client("kms", endpoint_url=server.endpoint, region_name=REGION,
                            aws_access_key_id=k["AccessKeyId"],
                            aws_secret_access_key=k["SecretAccessKey"])
    assert user_kms.decrypt(CiphertextBlob=blob_ok)["Plaintext"] == b"a"
    with pytest.raises(user_kms.exceptions.ClientError) as e:
        user_kms.decrypt(CiphertextBlob=blob_no)
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"kms:Decrypt on resource: {other['Arn']}" in e.value.response["Error"]["Message"]
